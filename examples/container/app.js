// SPDX-License-Identifier: MIT
'use strict';
// The app a container runs: socket activation with LISTEN_PID=1.
// In a container the app is PID 1 when the image starts node directly
// (exec form: CMD ["node", "app.js"]); podman passes the socket-activated fds
// through and sets LISTEN_PID=1, which then names this very process.
const http = require('node:http');
const { activate, lifecycle } = require('sd-activate');

const activation = activate({ http: { port: Number(process.env.PORT || 8085), bind: '127.0.0.1' } });
const report = activation.report();
const servers = activation.listen('http', () => http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: 'container-example', pid: process.pid, inherited: activation.inherited('http'),
    environment: report.environment, listenPid: report.env.LISTEN_PID }));
}));
// A listen promise: exit status 78 (EX_CONFIG) if the .socket unit contradicts the app.
lifecycle({ servers: [servers], status: `container-example: pid ${process.pid}, ${activation.environment}` });
