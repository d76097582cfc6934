// SPDX-License-Identifier: MIT
// GET /slow?ms=N: answered after N ms.
export default defineEventHandler(async (event) => {
  await new Promise((resolve) => setTimeout(resolve, Number(getQuery(event).ms) || 0));
  return 'hello from nitro';
});
