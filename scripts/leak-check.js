#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Calls every native primitive many times in one process, for a leak checker
// (valgrind / LeakSanitizer) to watch: scripts/sanitize.sh runs it. The
// product addon's primitives, and the test addon's (test/native:
// scripts/test-addon.js builds it) notifyAsync and barrier.
//   node scripts/leak-check.js [rounds]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const native = require('node-gyp-build')(path.join(__dirname, '..'));
const testAddon = require(require('./test-addon').addonPath);

const rounds = Number(process.argv[2] || 2000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-leak-'));
const notifyPath = path.join(dir, 'notify');
let received = 0;

async function main() {
  const receiver = new native.NotifyReceiver(notifyPath, (text, pid, fds) => {
    received++;
    for (const fd of fds) native.close(fd);
  });
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  for (let i = 0; i < rounds; i++) {
    const tcp = native.openSocket('tcp', '127.0.0.1', 0, 16, -1);
    const unix = native.openSocket('unix', `@sdact-leak-${process.pid}-${i}`, 0, 16, -1);
    native.describeSocket(tcp);
    native.describeSocket(unix);
    native.describeSocket(-1);
    native.isSocketInet(tcp, 0, 0, -1, 0);
    native.isSocketInet(tcp, 2, 1, 1, 1);
    native.isSocketUnix(unix, 1, 1, `@sdact-leak-${process.pid}-${i}`);
    native.isSocketUnix(unix, 0, -1, null);
    process.env.LISTEN_PID = String(process.pid);
    process.env.LISTEN_FDS = '1';
    process.env.LISTEN_FDNAMES = i % 2 ? 'a' : 'a:b';
    native.listenFds();
    delete process.env.LISTEN_PID;
    native.booted();
    process.env.WATCHDOG_USEC = '1000000';
    native.watchdogEnabled();
    process.env.NOTIFY_SOCKET = notifyPath;
    native.notify(0, `STATUS=round ${i}`, []);
    native.notify(0, 'FDSTORE=1\nFDNAME=leak', [tcp]);
    native.notify(0, 'FDSTORE=1\nFDNAME=explicit', [unix], notifyPath);
    native.notify(0, 'X=1', [], `${notifyPath}-missing`);
    if (i % 50 === 0) {
      await testAddon.notifyAsync(0, 'STATUS=async', [unix]);
      await testAddon.barrier(1000000);
      process.env.NOTIFY_SOCKET = 'relative/path';
      native.notify(0, 'X=1', []);
      await testAddon.notifyAsync(0, 'X=1', []);
    }
    native.close(tcp);
    native.close(unix);
  }
  delete process.env.NOTIFY_SOCKET;
  native.notify(0, 'X=1', []); // unset: drops the persistent socket
  await testAddon.barrier(0); // and the test addon's own
  await new Promise((r) => setTimeout(r, 200));
  receiver.close();
  const fdsAfter = fs.readdirSync('/proc/self/fd').length;
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ rounds, received, fdsBefore, fdsAfter }));
  // Sends fail fast with EAGAIN when the receiver lags (by design), so not
  // every datagram arrives; but the receiver must have taken some.
  if (received === 0) {
    console.error('the receiver got nothing');
    process.exit(1);
  }
  if (fdsAfter > fdsBefore) {
    console.error(`fd growth: ${fdsBefore} -> ${fdsAfter}`);
    process.exit(1);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
