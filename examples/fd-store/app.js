// SPDX-License-Identifier: MIT
'use strict';
// Zero-downtime restarts without a .socket unit: the fd store
// (FileDescriptorStoreMax=, see fd-store-example.service).
//
// First start: nothing is inherited, so the app binds 127.0.0.1:8084 and
// $SOCKET_PATH itself, then hands both listening sockets to the service
// manager (FDSTORE=1). On every later start — `systemctl restart`, or a crash
// with Restart= — systemd passes them back in LISTEN_FDS / LISTEN_FDNAMES and
// activate() adopts them by address like any inherited socket: the same
// sockets, never re-bound, and connections made while the app restarts wait
// in their backlog instead of being refused.
const http = require('node:http');
const { activate, lifecycle, storeFds } = require('sd-activate');

const activation = activate({
  http: { port: Number(process.env.PORT || 8084), bind: '127.0.0.1' },
  admin: { path: process.env.SOCKET_PATH || '/run/fd-store-example.sock' },
});

const app = (name) => (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: 'fd-store-example', listener: name, pid: process.pid, inherited: activation.inherited(name) }));
};

(async () => {
  const report = activation.report();
  const all = [];
  for (const name of ['http', 'admin']) {
    const servers = await activation.listen(name, () => http.createServer(app(name)));
    // Store what this process bound itself. Storing an inherited socket again
    // is harmless (the manager keeps one copy), but not needed.
    if (!activation.inherited(name)) for (const s of servers) storeFds(name, s);
    console.log(`fd-store-example: ${name} ${activation.inherited(name) ? 'adopted from the fd store' : 'bound and stored'}: ` +
      report.listeners[name].targets.map((t) => JSON.stringify(t)).join(' '));
    all.push(...servers);
  }
  lifecycle({ servers: all, status: `fd-store-example: serving (${activation.inherited('http') ? 'adopted' : 'bound'})` });
})().catch((err) => {
  console.error(err);
  process.exit(err.exitCode ?? 1); // 78 (EX_CONFIG) when the .socket unit contradicts the app
});
