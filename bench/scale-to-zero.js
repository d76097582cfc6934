#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// Scale to zero against a real systemd manager: the scale-to-zero example
// (examples/scale-to-zero: lifecycle({ idleExitMs }) under
// scale-to-zero-example.socket + .service) through N idle-exit cycles, with a
// client timed to arrive just before, at or just after each exit. One cycle:
//
//   1. wait until the service is inactive (the previous process exited when idle);
//   2. a cold request: the first connection to the stopped service (the socket
//      starts it), timed from connect to the end of the response;
//   3. 3 warm requests to the running process, one after another;
//   4. the idle time later (counted from the end of the last response, when the
//      app's idle timer starts), one client at an offset from the expected exit:
//      -20, -5, 0, +5, +20, +50 ms, one offset per cycle in turn (a client before
//      the exit is served by that process and restarts its idle wait, so a later
//      client in the same cycle would no longer be at the boundary);
//   5. back to 1: the process that served it exits when idle in its turn.
//
// Every request is one connection (Connection: close). Reports sent, served,
// refused, failed; the latency of cold and warm requests (p50/p99/max); per
// offset, how many were answered by the exiting process and how many waited in
// the socket's queue for the next one; and the cycles completed (a cold start
// by a new main pid, then an exit with status 0). Target: 0 refused, 0 failed.
//
//   node bench/scale-to-zero.js [--cycles 50] [--idle 1000] [--json]
//
// The example's units are installed as written plus one drop-in: IDLE_EXIT_MS
// from --idle, and StartLimitIntervalSec=0, since 50 cycles of about 2.5 s
// make far more starts than the example's limit (10 in 60 s) allows: see
// examples/scale-to-zero/README.md. Needs root: it boots its own
// `systemd --user` in private namespaces through test/e2e/with-manager.sh
// (nothing on the host is touched). Not a test: CI does not run it.
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const number = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : Number(args[i + 1]);
};
const cycles = number('--cycles', 50);
const idle = number('--idle', 1000);
const json = args.includes('--json');
const h = require(path.join(root, 'test', 'e2e', 'harness.js'));

if (!h.inManager()) {
  if (process.getuid && process.getuid() !== 0) {
    console.error('scale-to-zero: needs root (it boots a systemd --user manager in private namespaces)');
    process.exit(2);
  }
  const r = spawnSync('bash', [path.join(root, 'test', 'e2e', 'with-manager.sh'), process.execPath, __filename, ...args],
    { stdio: 'inherit', env: { ...process.env, SD_E2E_TIMEOUT: process.env.SD_E2E_TIMEOUT || String(120 + Math.ceil(cycles * (3 * idle + 2000) / 1000)) } });
  if (r.status === 97) console.error('scale-to-zero: the systemd manager could not be booted (see above).');
  process.exit(r.status === null ? 1 : r.status);
}

const { percentile } = require(path.join(root, 'scripts', 'load.js'));
const SVC = 'scale-to-zero-example.service';
const SOCK = 'scale-to-zero-example.socket';
const PORT = 8087;
const OFFSETS = [-20, -5, 0, 2, 5, 10, 20, 50];
const WARM = 3;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const tally = { sent: 0, served: 0, refused: 0, failed: 0, errors: {} };

/** One request on a new connection: { ok, ms, pid, end } (end: when the response ended, in now() ms). */
async function ask() {
  tally.sent++;
  const t0 = now();
  try {
    const r = await h.get(PORT, '/', { timeout: 15000 });
    const end = now();
    if (r.status !== 200) throw Object.assign(new Error(`status ${r.status}`), { code: `HTTP_${r.status}` });
    tally.served++;
    return { ok: true, ms: end - t0, pid: r.json.pid, served: r.json.served, end };
  } catch (e) {
    const code = e.code || e.message;
    tally[code === 'ECONNREFUSED' ? 'refused' : 'failed']++;
    tally.errors[code] = (tally.errors[code] || 0) + 1;
    return { ok: false, ms: now() - t0, code, end: now() };
  }
}

const state = async () => h.show(SVC, ['ActiveState', 'ExecMainStatus', 'ExecMainPID', 'Result']);
const inactive = () => h.waitFor(`${SVC} inactive`, async () => {
  const s = await state();
  return s.ActiveState === 'inactive' || s.ActiveState === 'failed' ? s : null;
}, { timeout: idle + 20000, interval: 10 });

(async () => {
  await h.systemctl('log-level', 'info');
  await h.install(['scale-to-zero/scale-to-zero-example.socket', 'scale-to-zero/scale-to-zero-example.service',
    { name: `${SVC}.d/bench.conf`, text: `[Unit]\nStartLimitIntervalSec=0\n\n[Service]\nEnvironment=IDLE_EXIT_MS=${idle}\n` }]);
  await h.systemctl('start', SOCK);
  const c0 = await h.cursor();
  const began = Date.now();
  if (!json) console.log(`scale-to-zero: ${cycles} idle-exit cycles, IDLE_EXIT_MS=${idle}, clients at ${OFFSETS.map((o) => `${o > 0 ? '+' : ''}${o}`).join(' ')} ms around the exit (one per cycle), node ${process.version}`);
  const cold = [];
  const warm = [];
  const boundary = Object.fromEntries(OFFSETS.map((o) => [o, { n: 0, byExiting: 0, byNext: 0, lost: 0, ms: [], actual: [] }]));
  const seen = new Set();
  let completed = 0;
  const notes = [];
  for (let i = 0; i < cycles; i++) {
    await inactive();
    const first = await ask();
    if (first.ok) cold.push(first.ms);
    let last = first;
    for (let k = 0; k < WARM; k++) {
      const w = await ask();
      if (w.ok) {
        warm.push(w.ms);
        if (first.ok && w.pid !== first.pid) notes.push(`cycle ${i + 1}: a warm request answered by pid ${w.pid}, not ${first.pid}`);
      }
      last = w;
    }
    const offset = OFFSETS[i % OFFSETS.length];
    const at = last.end + idle + offset;
    await h.sleep(Math.max(0, at - now() - 5));
    while (now() < at) { /* the last 5 ms: spin, for a client on time */ }
    const b = boundary[offset];
    b.actual.push(now() - last.end - idle);
    const late = await ask();
    b.n++;
    if (!late.ok) b.lost++;
    else {
      b.ms.push(late.ms);
      if (late.pid === first.pid) b.byExiting++;
      else b.byNext++;
    }
    // Completed: a cold start by a new main pid, and that process exited 0 when idle.
    const fresh = first.ok && first.served === 1 && !seen.has(first.pid);
    if (first.ok) seen.add(first.pid);
    if (late.ok && late.pid !== first.pid) {
      // The client at the boundary started the next process: `first` has exited by now.
      const exited = await h.waitFor(`the idle line of pid ${first.pid}`, async () => (await h.journal({ pid: first.pid },
        { after: c0, grep: /idle for \d+ ms \(no open connection\): exiting with status 0/ })).length > 0, { timeout: 5000 }).catch(() => false);
      if (fresh && exited) completed++;
      else notes.push(`cycle ${i + 1}: pid ${first.pid}: ${fresh ? 'no idle line in the journal (yet?)' : 'not a cold start'}`);
      seen.add(late.pid);
    } else {
      const s = await inactive();
      if (fresh && Number(s.ExecMainPID) === first.pid && s.ExecMainStatus === '0' && s.Result === 'success') completed++;
      else notes.push(`cycle ${i + 1}: pid ${first.pid} ended ${JSON.stringify(s)}${fresh ? '' : ' (not a cold start)'}`);
    }
    if (!json && (i + 1) % 10 === 0) process.stderr.write(`  ${i + 1}/${cycles} cycles\n`);
  }
  const idleLines = (await h.journal(SVC, { after: c0, grep: /sd-activate: idle for \d+ ms/ })).length;
  const failures = (await h.journal(SVC, { after: c0, grep: /Failed with result|Main process exited, code=(killed|dumped)/ })).length;
  await h.stopAll([SOCK, SVC]);

  const sorted = (a) => [...a].sort((x, y) => x - y);
  const figures = (a) => {
    const s = sorted(a);
    const r1 = (x) => Math.round(x * 10) / 10;
    return { n: s.length, p50Ms: r1(percentile(s, 50)), p99Ms: r1(percentile(s, 99)), maxMs: s.length ? r1(s[s.length - 1]) : 0 };
  };
  const result = {
    cycles, idleMs: idle, seconds: Math.round((Date.now() - began) / 100) / 10, completed, idleLinesInJournal: idleLines, failuresInJournal: failures, ...tally,
    cold: figures(cold), warm: figures(warm),
    boundary: Object.fromEntries(OFFSETS.map((o) => {
      const b = boundary[o];
      const act = sorted(b.actual);
      return [o, { n: b.n, byExiting: b.byExiting, byNext: b.byNext, lost: b.lost, ...figures(b.ms), actualOffsetMs: b.n ? [act[0], act[act.length - 1]].map((x) => Math.round(x * 10) / 10) : [] }];
    })),
    notes,
  };
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : String(v));
  const line = (w, cells) => cells.map((c, k) => (k === 0 ? String(c).padEnd(w[k]) : String(c).padStart(w[k]))).join(' ');
  const errs = Object.entries(tally.errors).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`sent ${tally.sent}, served ${tally.served}, refused ${tally.refused}, failed ${tally.failed}${errs ? ` (${errs})` : ''}`);
  console.log(`cycles completed ${completed}/${cycles} in ${result.seconds} s (a cold start by a new pid, then an idle exit with status 0); idle lines in the journal: ${idleLines}, failures: ${failures}`);
  const w1 = [30, 6, 9, 9, 9];
  console.log(line(w1, ['latency, connect to response end', 'n', 'p50 ms', 'p99 ms', 'max ms']));
  console.log(line(w1, ['cold (first connection, stopped)', result.cold.n, fmt(result.cold.p50Ms), fmt(result.cold.p99Ms), fmt(result.cold.maxMs)]));
  console.log(line(w1, ['warm (service running)', result.warm.n, fmt(result.warm.p50Ms), fmt(result.warm.p99Ms), fmt(result.warm.maxMs)]));
  const w2 = [12, 4, 13, 10, 6, 9, 16];
  console.log(line(w2, ['exit offset', 'n', 'by exiting', 'by next', 'lost', 'max ms', 'sent at (ms)']));
  for (const o of OFFSETS) {
    const b = result.boundary[o];
    console.log(line(w2, [`${o > 0 ? '+' : ''}${o} ms`, b.n, b.byExiting, b.byNext, b.lost, fmt(b.maxMs), b.actualOffsetMs.map((x) => x.toFixed(1)).join('..') || '-']));
  }
  for (const n of notes) console.log(`note: ${n}`);
  const ok = tally.refused === 0 && tally.failed === 0 && completed === cycles && failures === 0;
  console.log(ok ? `target met: 0 refused, 0 failed, ${completed}/${cycles} cycles` : 'TARGET MISSED (see above)');
  process.exitCode = ok ? 0 : 1;
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
