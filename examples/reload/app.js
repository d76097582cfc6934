// SPDX-License-Identifier: MIT
'use strict';
// Reload without restart (Type=notify-reload, systemd >= 253): `systemctl
// reload reload-example` sends SIGHUP; the lifecycle helper answers with
// RELOADING=1 + MONOTONIC_USEC=, runs the hook (re-read the configuration),
// then READY=1, and systemctl returns once the reload is done. The process,
// its sockets and its connections stay.
// Configuration: a JSON file named by $CONFIG (default: config.json here).
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { activate, lifecycle } = require('sd-activate');

const configFile = process.env.CONFIG || path.join(__dirname, 'config.json');
let config;
let generation = 0;
function load() {
  config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  generation++;
  console.log(`reload-example: loaded ${configFile} (generation ${generation}): ${JSON.stringify(config)}`);
}
load();

const activation = activate({ http: { port: Number(process.env.PORT || 8083), bind: '127.0.0.1' } });
const servers = activation.listen('http', () => http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ app: 'reload-example', pid: process.pid, generation, greeting: config.greeting }));
}));

lifecycle({
  servers: [servers], // a listen promise: exit status 78 if the .socket unit contradicts the app
  status: `generation ${generation}`,
  // A throwing hook keeps the old configuration: READY=1 with STATUS=Reload failed: ...
  onReload: () => load(),
});
