#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Write the V8 code caches of dist/bundle.js for the node running this, one
// per entry that loads the bundle (dist/cache/<build>-<entry>-<V8 version>-
// <arch>.bin; lib/load.ts reads the one of the entry that loads it). Run by
// scripts/build-ts.js after a build and by scripts/install.js at install
// time, never by the package at run time.
//
// A cache holds the bytecode of every function run before it is taken, so
// each is taken from children that start the way the package is used:
// - main (`require('sd-activate')`), in two children, the second starting
//   from the cache the first wrote (a cache taken from a script compiled with
//   one keeps what it held): the first starts the way a socket-activated
//   service does, a listening socket at fd 3 with LISTEN_PID its own pid
//   (through `sh -c exec`), adopted by activate() and served by
//   activation.listen(), then report(); the second the way the same app
//   starts outside systemd, where activate() finds no fds and
//   activation.listen() binds (the functions only that path runs, 1.6 KB of
//   bytecode);
// - register (`--require sd-activate/register`): the app's own
//   `listen({ port })` on the same inherited socket, adopted by the preload.
// Exit 0 with nothing written where there is no bundle; failures exit 1 with
// a line (the install script ignores them).
//   node scripts/code-cache.js
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');

/** Write the cache of the bundle as this process ran it, for the entry that loaded it. */
function writeCache() {
  const load = require(path.join(dist, 'load.js'));
  const { build, first, data } = load.codeCache();
  const file = load.cacheFile(build, first);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
  process.stdout.write(`${path.relative(path.join(dist, '..'), file)} (${data.length} bytes)\n`);
}

const http = () => require('node:http');
if (process.argv[2] === '--child') {
  const sd = require(path.join(dist, 'index.js'));
  const web = { port: Number(process.argv[3]), bind: '127.0.0.1' };
  const activation = sd.activate({ web }, { onWarning: () => {} });
  activation.report();
  activation.listen('web', () => http().createServer()).then((servers) => {
    for (const server of servers) server.close();
    writeCache();
  });
} else if (process.argv[2] === '--child-preload') {
  // Started with --require dist/register.js: the app's own listen().
  const server = http().createServer().listen({ port: Number(process.argv[3]), host: '127.0.0.1' }, () => {
    server.close();
    writeCache();
  });
} else if (fs.existsSync(path.join(dist, 'bundle.js'))) {
  // A clean environment: no manager, no preload but the one asked for, only the socket below.
  const env = { ...process.env };
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'NODE_OPTIONS']) delete env[k];
  const options = (fds) => ({ stdio: ['ignore', 'inherit', 'pipe', ...fds], env, encoding: 'utf8', timeout: 30000 });
  const report = (what, r) => {
    if (r.status === 0) return;
    process.stderr.write(`sd-activate: no code cache written (${what}): ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' / ')}\n`);
    process.exitCode = 1;
  };
  // The child at fd 3 of a socket, LISTEN_PID its own pid.
  const inherited = (socket, nodeArgs, mode) => spawnSync('sh', ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"',
    process.execPath, ...nodeArgs, __filename, mode, String(socket.address().port)], options([socket._handle.fd]));
  // No fds: the child binds port 0 itself.
  const selfBound = () => report('main, no fds', spawnSync(process.execPath, [__filename, '--child', '0'], options([])));
  if (process.platform === 'linux') {
    // The socket a manager would pass, adopted by the children at fd 3.
    const socket = require('node:net').createServer();
    socket.once('error', () => selfBound()).listen({ port: 0, host: '127.0.0.1' }, () => {
      report('main, an inherited socket', inherited(socket, [], '--child'));
      report('register, an inherited socket', inherited(socket, ['--require', path.join(dist, 'register.js')], '--child-preload'));
      socket.close();
      selfBound();
    });
  } else {
    selfBound();
  }
}
