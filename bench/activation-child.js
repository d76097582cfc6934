// SPDX-License-Identifier: MIT
'use strict';
// Child of bench/activation.js. Modes:
//   import                 time require('sd-activate') (and, for scale, node:http)
//   serve-plain PORT       http server binding 127.0.0.1:PORT itself
//   serve-activated PORT   the same server through activate(); fd 3 is inherited
//   match N                activate() over N inherited fds against N listeners
// import and match print one JSON line; the servers print nothing.
const [mode, arg] = process.argv.slice(2);
const ms = (a, b) => Number(b - a) / 1e6;

if (mode === 'import') {
  const a = process.hrtime.bigint();
  require('node:http');
  const b = process.hrtime.bigint();
  require('../dist');
  const c = process.hrtime.bigint();
  console.log(JSON.stringify({ httpMs: ms(a, b), sdActivateMs: ms(b, c) }));
} else if (mode === 'serve-plain' || mode === 'serve-activated') {
  const http = require('node:http');
  const port = Number(arg);
  const server = http.createServer((req, res) => res.end('ok'));
  let target = { host: '127.0.0.1', port };
  if (mode === 'serve-activated') {
    const { activate } = require('../dist');
    target = activate({ http: { port, bind: '127.0.0.1' } }).targets('http')[0];
  }
  server.listen(target, target.backlog);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  server.on('request', () => setImmediate(() => server.closeAllConnections()));
} else if (mode === 'match') {
  const n = Number(arg);
  const { activate, describeSocket } = require('../dist');
  const ports = [];
  for (let i = 0; i < n; i++) ports.push(describeSocket(3 + i).port);
  const config = {};
  ports.forEach((p, i) => { config[`l${i}`] = { port: p, bind: '127.0.0.1' }; });
  const a = process.hrtime.bigint();
  const act = activate(config, { onWarning: () => {} });
  const b = process.hrtime.bigint();
  const r = act.report();
  console.log(JSON.stringify({ n, activateMs: ms(a, b), adopted: r.adopted.length, rejected: r.rejected.length }));
}
