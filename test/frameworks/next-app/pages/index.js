// SPDX-License-Identifier: MIT
export default function Home() {
  return <p>hello from next</p>;
}
