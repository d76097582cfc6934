// SPDX-License-Identifier: MIT
'use strict';
// A small HTTP service, socket-activated when started by systemd or by the
// `sd-activate` command, binding its own port otherwise. It is the app
// `npm run demo` restarts under load.
//
//   node examples/http/app.js                                   binds 127.0.0.1:8080 itself
//   npx sd-activate -l 127.0.0.1:8080 -- node examples/http/app.js
//                                       the socket is held by sd-activate: kill -HUP it
//                                       to restart the app without refusing a connection
//   systemd: http-example.socket + http-example.service (this directory)
//
// Environment: PORT (8080), HOST (127.0.0.1).
const http = require('node:http');
const { activate, ready, stopping } = require('sd-activate');

const port = Number(process.env.PORT || 8080);
const host = process.env.HOST || '127.0.0.1';

// The one listener this app has. An inherited socket is used only when it is
// exactly this address; anything else passed in is closed with a warning.
const activation = activate({ http: { port, bind: host } });

let served = 0;
function handler(req, res) {
  served++;
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from pid ${process.pid}\n`);
}

async function main() {
  // One server per target: { fd } for an inherited socket, { host, port } to bind.
  const servers = await activation.listen('http', () => http.createServer(handler));
  const how = activation.inherited('http') ? 'inherited socket' : 'bound itself';
  console.error(`app: pid ${process.pid} serving http://${host.includes(':') ? `[${host}]` : host}:${port}/ (${how})`);
  // READY=1 tells the service manager (or sd-activate) the app is up.
  ready(`serving ${host}:${port} (${how})`);

  // Graceful stop: stop accepting, finish what was accepted, then exit. With an
  // inherited socket, connections arriving meanwhile wait in the socket's
  // queue for the next start; with a self-bound one they are refused.
  process.once('SIGTERM', () => {
    stopping(`draining after ${served} requests`);
    let open = servers.length;
    const done = () => { if (--open === 0) process.exit(0); };
    for (const server of servers) {
      server.close(done);
      server.closeIdleConnections();
    }
    setTimeout(() => { for (const server of servers) server.closeAllConnections(); }, 10000).unref();
  });
}

main().catch((err) => {
  console.error(`app: ${err.message}`);
  process.exit(err.exitCode ?? 1); // 78 (EX_CONFIG) when the .socket unit contradicts the app
});
