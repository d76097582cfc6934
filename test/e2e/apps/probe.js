// SPDX-License-Identifier: MIT
'use strict';
// The e2e suite's probe app: an HTTP server on every listener of the
// configuration in PROBE_LISTENERS (JSON, as passed to activate()), run by
// systemd under the test units in test/e2e/units/. It answers:
//   GET /info           { pid, listener, inherited, socket inode, activation report, watchdog }
//   GET /status?text=T  sends STATUS=T, answers { sent }
//   GET /block          blocks the event loop for good (a hung app)
//   GET /stall?ms=M&gap=G  blocks M ms every G ms (loop lagging, still turning)
//   GET /slow?ms=M      answers after M ms (requests in flight during a restart)
// Logs one JSON line `probe-started {...}` to stdout (the journal; shown
// when a check fails).
const http = require('node:http');
const fs = require('node:fs');
const { activate, lifecycle, status, socketFd } = require('sd-activate');

const listeners = JSON.parse(process.env.PROBE_LISTENERS || '{"http":{"port":9001,"bind":"127.0.0.1"}}');
const activation = activate(listeners);
const report = activation.report();
let life;

function inode(server) {
  try { return fs.readlinkSync(`/proc/self/fd/${socketFd(server)}`); } catch { return null; }
}

function handler(name) {
  return (req, res) => {
    const url = new URL(req.url, 'http://x');
    const reply = (obj) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(obj)); };
    switch (url.pathname) {
      case '/info': {
        const wd = life && life.watchdog;
        return reply({
          pid: process.pid, listener: name, inherited: activation.inherited(name), socket: inode(req.socket.server),
          report, watchdog: wd ? { running: wd.running, pings: wd.pings, skips: wd.skips, usec: wd.usec, lastSkip: wd.lastSkip && wd.lastSkip.reason } : null,
        });
      }
      case '/status':
        return reply({ sent: status(url.searchParams.get('text') || '') });
      case '/block':
        reply({ blocking: true });
        setTimeout(() => { for (;;) { /* hung */ } }, 50);
        return undefined;
      case '/stall': {
        const ms = Number(url.searchParams.get('ms') || 800);
        const gap = Number(url.searchParams.get('gap') || 100);
        reply({ stalling: true, ms, gap });
        const spin = () => { const end = Date.now() + ms; while (Date.now() < end) { /* busy */ } setTimeout(spin, gap); };
        setTimeout(spin, 50);
        return undefined;
      }
      case '/slow': {
        const ms = Number(url.searchParams.get('ms') || 50);
        setTimeout(() => reply({ pid: process.pid, listener: name, slow: ms }), ms);
        return undefined;
      }
      default:
        return reply({ pid: process.pid, listener: name });
    }
  };
}

(async () => {
  const servers = [];
  for (const name of activation.names()) {
    servers.push(...await activation.listen(name, () => http.createServer(handler(name))));
  }
  life = lifecycle({ servers, status: `serving ${servers.length} listener(s)` });
  await life.ready;
  console.log(`probe-started ${JSON.stringify({ pid: process.pid, adopted: report.adopted.map((a) => [a.listener, a.fd, a.fdname, a.via, a.socket]), rejected: report.rejected.map((r) => [r.fd, r.fdname, r.reason, r.socket]) })}`);
})().catch((err) => {
  console.error(`probe failed: ${err.stack}`);
  process.exit(err.exitCode ?? 1); // 78 (EX_CONFIG) for a unit that contradicts the app
});
