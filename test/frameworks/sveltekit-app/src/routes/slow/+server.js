// SPDX-License-Identifier: MIT
// GET /slow?ms=N: answered after N ms.
export async function GET({ url }) {
  await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms')) || 0));
  return new Response('hello from sveltekit');
}
