// SPDX-License-Identifier: MIT
'use strict';
// Scale to zero: an HTTP service that exits when nobody uses it. systemd holds
// the listening socket (scale-to-zero-example.socket) and starts the service
// on the first connection; lifecycle({ idleExitMs }) makes the app, once
// ready, exit 0 after IDLE_EXIT_MS with no open connection (STOPPING=1 with
// STATUS=Idle for N ms: exiting, a line on stderr, a graceful drain). The next
// connection waits in the socket's queue while systemd starts the app again:
// it is answered, a little later (a cold start), and never refused.
//
//   systemd: scale-to-zero-example.socket + scale-to-zero-example.service (this directory)
//   node examples/scale-to-zero/app.js      binds 127.0.0.1:8087 itself; the idle
//                                           exit is then refused (with a warning
//                                           saying why) and the app keeps running
//
// Environment: PORT (8087), HOST (127.0.0.1), IDLE_EXIT_MS (30000).
const http = require('node:http');
const { activate, lifecycle } = require('sd-activate');

const port = Number(process.env.PORT || 8087);
const host = process.env.HOST || '127.0.0.1';
const idleExitMs = Number(process.env.IDLE_EXIT_MS || 30000);
const started = Date.now();

// The one listener; an inherited socket is used only when it is exactly this address.
const activation = activate({ http: { port, bind: host } });

let served = 0;
function handler(req, res) {
  served++;
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify({ app: 'scale-to-zero', pid: process.pid, inherited: activation.inherited('http'), served, upMs: Date.now() - started })}\n`);
}

// READY=1 once the server listens; SIGTERM and the idle exit both drain and exit 0.
// The idle exit is refused (SD_ACTIVATE_IDLE_EXIT_REFUSED, the app keeps running)
// where nothing would start the app again: a socket it bound itself, or a
// service no .socket unit triggers.
lifecycle({
  servers: [activation.listen('http', () => http.createServer(handler))],
  status: `serving ${host}:${port}, exits after ${idleExitMs} ms idle`,
  idleExitMs,
});
