// SPDX-License-Identifier: MIT
'use strict';
// Fastify under systemd socket activation (see fastify-example.socket/.service).
// Run it by hand too: `node app.js` binds 127.0.0.1:8082 itself.
const Fastify = require('fastify');
const { activate, lifecycle } = require('sd-activate');

const activation = activate({
  http: { port: Number(process.env.PORT || 8082), bind: '127.0.0.1' },
});

const app = Fastify();
app.get('/', async () => ({ app: 'fastify', pid: process.pid, inherited: activation.inherited('http') }));

(async () => {
  // One Fastify instance has one server, so one target: the inherited socket
  // or, without systemd, the address to bind.
  const [target] = activation.targets('http');
  // Not `app.listen(target)`: for a target without `host` (an inherited
  // `{ fd }`), Fastify defaults host to 'localhost' and then starts a second
  // server for every other address 'localhost' resolves to (::1 on a stock
  // /etc/hosts) with the same options: two servers on one fd, and closing
  // one closes the socket under the other. Let Fastify finish its setup,
  // then listen on its server.
  await app.ready();
  app.server.listen(target, target.backlog);
  lifecycle({ servers: [app.server], status: 'fastify: serving', onStop: () => app.close() });
})().catch((err) => {
  console.error(err);
  process.exit(err.exitCode ?? 1); // 78 (EX_CONFIG) when the .socket unit contradicts the app
});
