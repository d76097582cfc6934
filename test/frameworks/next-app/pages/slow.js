// SPDX-License-Identifier: MIT
// GET /slow?ms=N: rendered after N ms.
export async function getServerSideProps({ query }) {
  await new Promise((resolve) => setTimeout(resolve, Number(query.ms) || 0));
  return { props: {} };
}

export default function Slow() {
  return <p>hello from next</p>;
}
