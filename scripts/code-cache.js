#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Write the V8 code cache of dist/bundle.js for the node running this
// (dist/cache/<build>-<V8 version>-<arch>.bin; lib/load.ts reads it). Run by
// scripts/build-ts.js after a build and by scripts/install.js at install
// time, never by the package at run time.
//
// The cache holds the bytecode of every function run before it is taken, so
// it is taken in two children, each starting from the cache the one before
// wrote (a cache taken from a script compiled with one keeps what it held):
// the first starts the way a socket-activated service does, a listening
// socket at fd 3 with LISTEN_PID its own pid (through `sh -c exec`), adopted
// by activate() and served by activation.listen(), then report(); the second
// the way the same app starts outside systemd, where activate() finds no
// fds and activation.listen() binds (the functions only that path runs, 1.6
// KB of bytecode). Exit 0 with nothing written where there is no bundle;
// failures exit 1 with a line (the install script ignores them).
//   node scripts/code-cache.js
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');

if (process.argv[2] === '--child') {
  const load = require(path.join(dist, 'load.js'));
  const sd = require(path.join(dist, 'index.js'));
  const web = { port: Number(process.argv[3]), bind: '127.0.0.1' };
  const activation = sd.activate({ web }, { onWarning: () => {} });
  activation.report();
  const http = require('node:http');
  activation.listen('web', () => http.createServer()).then((servers) => {
    for (const server of servers) server.close();
    const { build, data } = load.codeCache();
    const file = load.cacheFile(build);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
    process.stdout.write(`${path.relative(path.join(dist, '..'), file)} (${data.length} bytes)\n`);
  });
} else if (fs.existsSync(path.join(dist, 'bundle.js'))) {
  // A clean environment: no manager, no preload, only the socket below.
  const env = { ...process.env };
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'NODE_OPTIONS']) delete env[k];
  const run = (socket) => {
    const fd = socket?._handle?.fd;
    const r = typeof fd === 'number' && fd >= 0
      ? spawnSync('sh', ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"', process.execPath, __filename, '--child', String(socket.address().port)],
        { stdio: ['ignore', 'inherit', 'pipe', fd], env, encoding: 'utf8', timeout: 30000 })
      // No fds: the child binds port 0 itself.
      : spawnSync(process.execPath, [__filename, '--child', '0'], { stdio: ['ignore', 'inherit', 'pipe'], env, encoding: 'utf8', timeout: 30000 });
    socket?.close();
    if (r.status !== 0) {
      process.stderr.write(`sd-activate: no code cache written${socket ? ' (with an inherited socket)' : ''}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' / ')}\n`);
      process.exitCode = 1;
    }
  };
  if (process.platform === 'linux') {
    // The socket a manager would pass, adopted by the child at fd 3; then the same app with none.
    const socket = require('node:net').createServer();
    socket.once('error', () => run()).listen({ port: 0, host: '127.0.0.1' }, () => { run(socket); run(); });
  } else {
    run();
  }
}
