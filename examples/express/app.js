// SPDX-License-Identifier: MIT
'use strict';
// Express under systemd socket activation (see express-example.socket/.service).
// Run it by hand too: `node app.js` binds 127.0.0.1:8081 itself.
const http = require('node:http');
const express = require('express');
const { activate, lifecycle } = require('sd-activate');

// The listener the app wants. The .socket unit must expose exactly this
// (ListenStream=127.0.0.1:8081); anything else it passes is closed with a warning.
const activation = activate({
  http: { port: Number(process.env.PORT || 8081), bind: '127.0.0.1' },
});

const app = express();
app.get('/', (req, res) => {
  res.json({ app: 'express', pid: process.pid, inherited: activation.inherited('http') });
});

// An express app is a request handler: one server per target, `{ fd }` when
// systemd passed the socket, `{ host, port }` when the app runs on its own.
// READY=1 once listening; on SIGTERM: STOPPING=1, finish in-flight requests,
// exit; exit status 78 (EX_CONFIG) if the .socket unit contradicts the app.
lifecycle({ servers: [activation.listen('http', () => http.createServer(app))], status: 'express: serving' });
