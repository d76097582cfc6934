#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// Rolling reloads vs restarts under load, against a real systemd manager: the
// cluster example (examples/cluster: a primary and 4 workers, lifecycle({ cluster }))
// at `--rate` new connections/s, in one run:
//   steady    the load alone, to measure the steady-state latency;
//   reloads   `systemctl reload` N times (each waits until the unit is active
//             again: the new generation listens and the old one has stopped);
//   restarts  `systemctl restart` N times (the socket stays open; requests wait
//             while the next primary and its workers start).
// For each: sent, served, refused, failed, p50/p99/max latency, and p99 divided by
// the steady p99 of the same run. Target for reloads: 0 refused, 0 failed, <= 2x.
//
//   node bench/cluster-systemd.js [--restarts 20] [--rate 500] [--all] [--json]
//   (--all: a whole new generation at each reload instead of one worker at a time)
//
// Needs root: it boots its own `systemd --user` in private namespaces through
// test/e2e/with-manager.sh (nothing on the host is touched).
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const { restarts, rate, json } = require('../scripts/load').driverOptions({ restarts: 20, rate: 500 });
const h = require(path.join(root, 'test', 'e2e', 'harness.js'));

if (!h.inManager()) {
  if (process.getuid && process.getuid() !== 0) {
    console.error('cluster-systemd: needs root (it boots a systemd --user manager in private namespaces)');
    process.exit(2);
  }
  const r = spawnSync('bash', [path.join(root, 'test', 'e2e', 'with-manager.sh'), process.execPath, __filename, ...args],
    { stdio: 'inherit', env: { ...process.env, SD_E2E_TIMEOUT: process.env.SD_E2E_TIMEOUT || String(120 + restarts * 12) } });
  if (r.status === 97) console.error('cluster-systemd: the systemd manager could not be booted (see above).');
  process.exit(r.status === null ? 1 : r.status);
}

const { startLoad } = require(path.join(root, 'scripts', 'load.js'));
const SVC = 'cluster-example.service';
const activeAgain = () => h.waitFor('the unit to be active', async () => (await h.show(SVC, ['ActiveState'])).ActiveState === 'active', { timeout: 60000, interval: 20 });

async function phase(action) {
  const load = startLoad({ port: 8086, rate, timeoutMs: 10000 });
  await h.sleep(500);
  if (action) {
    for (let i = 0; i < restarts; i++) {
      await h.systemctl(action, SVC);
      await activeAgain();
      await h.sleep(50);
    }
  } else {
    await h.sleep(4000);
  }
  await h.sleep(300);
  return load.stop();
}

(async () => {
  await h.systemctl('log-level', 'info');
  await h.install(['cluster/cluster-example.socket', 'cluster/cluster-example.service']);
  if (args.includes('--all')) await h.systemctl('set-environment', 'CLUSTER_ROLLING=all');
  await h.systemctl('start', 'cluster-example.socket');
  await h.get(8086, '/');
  await activeAgain();
  const steady = await phase(null);
  const reloads = await phase('reload');
  const restartsSt = await phase('restart');
  await h.stopAll(['cluster-example.socket', SVC]);
  const result = { restarts, rate, steady, reloads, restarts: restartsSt };
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : String(v));
  const w = [26, 12, 14, 14];
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join(' ');
  console.log(`cluster-systemd: 4 workers (rolling ${args.includes('--all') ? 'all at once' : 'one at a time'}), ${restarts} reloads vs ${restarts} restarts at ${rate} connections/s, node ${process.version}`);
  console.log(line(['', 'steady', `${restarts} reloads`, `${restarts} restarts`]));
  for (const [label, key] of [['sent', 'sent'], ['served', 'served'], ['refused', 'refused'], ['failed', 'failed'], ['p50 ms', 'p50Ms'], ['p99 ms', 'p99Ms'], ['max ms', 'worstMs']]) {
    console.log(line([label, fmt(steady[key]), fmt(reloads[key]), fmt(restartsSt[key])]));
  }
  const ratio = (s) => (steady.p99Ms > 0 ? (s.p99Ms / steady.p99Ms).toFixed(2) : 'n/a');
  console.log(line(['p99 / steady p99', '1.00', `${ratio(reloads)}x`, `${ratio(restartsSt)}x`]));
  const ok = reloads.refused === 0 && reloads.failed === 0 && reloads.p99Ms <= 2 * steady.p99Ms;
  console.log(ok ? 'reloads: 0 refused, 0 failed, p99 within 2x the steady p99' : 'reloads: TARGET MISSED (see above)');
  process.exitCode = ok ? 0 : 1;
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
