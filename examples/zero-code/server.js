// SPDX-License-Identifier: MIT
'use strict';
// An app that knows nothing of sd-activate: it listens as any framework does.
// Under zero-code-example.service (node --import sd-activate/register), its own
// listen() adopts the socket zero-code-example.socket passes; run plainly, it
// binds the port itself:
//
//   node examples/zero-code/server.js
//   npx sd-activate -l 127.0.0.1:8085 -- node examples/zero-code/server.js   (the command adds the preload)
//
// Environment: PORT (8085), HOST (127.0.0.1).
const http = require('node:http');

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify({ app: 'zero-code', pid: process.pid })}\n`);
});
server.listen(Number(process.env.PORT || 8085), process.env.HOST || '127.0.0.1', () => {
  console.log(`listening on ${JSON.stringify(server.address())}`);
});
