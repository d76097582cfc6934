#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// Restarts under load against a real systemd manager: the HTTP example
// (examples/http/app.js, using sd-activate) restarted N times
// with `systemctl restart` while a bounded loopback load runs, once
// socket-activated (examples/http/http-example.socket + .service, port 8080)
// and once binding its own port (test/e2e/units/http-control.service, port
// 8090: the usual setup), side by side in one run.
//
//   node bench/restart-systemd.js [--restarts 20] [--rate 500] [--json]
//   node bench/restart-systemd.js --restarts 100      # the restart soak (issue 7)
//
// Needs root: it boots its own `systemd --user` in private namespaces through
// test/e2e/with-manager.sh (nothing on the host is touched). Where that is not
// possible it says why and exits 2; `npm run demo` shows the same comparison
// with the sd-activate command instead of systemd.
//
// Prints, per mode: requests sent / served / refused / failed, worst and p99
// latency, mean time of one `systemctl restart`, and the manager's open fds
// before and after (no growth expected), then the ratios.
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const { restarts, rate, json } = require('../scripts/load').driverOptions({ restarts: 20, rate: 500 });

const h = require(path.join(root, 'test', 'e2e', 'harness.js'));

if (!h.inManager()) {
  // Boot a manager and run this script again next to it.
  const why = [];
  if (process.getuid && process.getuid() !== 0) why.push('not root');
  for (const f of ['/lib/systemd/systemd', '/lib/systemd/systemd-journald']) {
    if (!require('node:fs').existsSync(f)) why.push(`${f} missing`);
  }
  if (why.length) {
    console.error(`restart-systemd: cannot boot a systemd manager here (${why.join(', ')}); try \`npm run demo\` (the sd-activate command) instead.`);
    process.exit(2);
  }
  const r = spawnSync('bash', [path.join(root, 'test', 'e2e', 'with-manager.sh'), process.execPath, __filename, ...args],
    { stdio: 'inherit', env: { ...process.env, SD_E2E_TIMEOUT: process.env.SD_E2E_TIMEOUT || String(120 + restarts * 6) } });
  if (r.status === 97) console.error('restart-systemd: the systemd manager could not be booted (see above).');
  process.exit(r.status === null ? 1 : r.status);
}

const { startLoad } = require(path.join(root, 'scripts', 'load.js'));
const UNITS = path.join(root, 'test', 'e2e', 'units');

async function cycle(svc, port) {
  const pids = new Set([Number((await h.show(svc, ['MainPID'])).MainPID)]);
  const fdsBefore = h.fdCount(h.managerPid());
  const load = startLoad({ port, rate, timeoutMs: 10000 });
  await h.sleep(500);
  let restartMs = 0;
  for (let i = 0; i < restarts; i++) {
    const t0 = process.hrtime.bigint();
    await h.systemctl('restart', svc);
    restartMs += Number(process.hrtime.bigint() - t0) / 1e6;
    pids.add(Number((await h.show(svc, ['MainPID'])).MainPID));
    await h.sleep(100);
    if (!json && (i + 1) % 10 === 0) process.stderr.write(`  ${svc}: ${i + 1}/${restarts} restarts\n`);
  }
  await h.sleep(500);
  const st = await load.stop();
  return { ...st, processes: pids.size, restartMs: restartMs / restarts, managerFds: [fdsBefore, h.fdCount(h.managerPid())] };
}

(async () => {
  await h.systemctl('log-level', 'info');
  await h.install(['http/http-example.socket', 'http/http-example.service', path.join(UNITS, 'http-control.service')]);
  await h.systemctl('start', 'http-example.socket', 'http-control.service');
  await h.get(8080, '/'); // first start of the socket-activated one
  if (!json) console.log(`restart-systemd: ${restarts} systemctl restarts at ${rate} connections/s, systemd ${(/systemd (\d+)/.exec(spawnSync('systemctl', ['--version'], { encoding: 'utf8' }).stdout) || [])[1]}, node ${process.version}`);
  const activated = await cycle('http-example.service', 8080);
  const control = await cycle('http-control.service', 8090);
  await h.stopAll(['http-example.socket', 'http-example.service', 'http-control.service']);

  if (json) {
    console.log(JSON.stringify({ restarts, rate, activated, control }));
    return;
  }
  const rows = [
    ['requests sent', 'sent'], ['served', 'served'], ['refused', 'refused'], ['failed', 'failed'],
    ['not sent (in-flight bound)', 'skipped'], ['worst latency ms (served)', 'worstMs'], ['p99 latency ms (served)', 'p99Ms'],
    ['p50 latency ms (served)', 'p50Ms'], ['ms per systemctl restart', 'restartMs'], ['app processes', 'processes'],
  ];
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : String(v));
  const ratio = (a, b) => (a === 0 && b === 0 ? '=' : a === 0 ? `0 vs ${fmt(b)}` : `${(b / a).toFixed(2)}x`);
  const w = [28, 16, 16, 14];
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(' ');
  console.log(line(['', 'socket-activated', 'self-bound', 'self/activated']));
  for (const [label, key] of rows) console.log(line([label, fmt(activated[key]), fmt(control[key]), ratio(activated[key], control[key])]));
  console.log(line(['manager fds before -> after', activated.managerFds.join(' -> '), control.managerFds.join(' -> '), '']));
  const errs = (s) => Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`errors: socket-activated: ${errs(activated)}; self-bound: ${errs(control)}`);
  const ok = activated.refused === 0 && activated.failed === 0 && activated.managerFds[1] <= activated.managerFds[0];
  console.log(ok ? 'socket-activated: 0 refused, 0 failed, no fd growth in the manager' : 'socket-activated: LOST REQUESTS or fd growth (see above)');
  process.exitCode = ok ? 0 : 1;
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
