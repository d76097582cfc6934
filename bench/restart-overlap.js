#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// Restarts under the `sd-activate` command, side by side in one run:
// stop-then-start (the default: SIGTERM to the app, wait for its exit, start
// the next) vs `--overlap` (start the next on the same socket, stop the old
// one once the new one sent READY=1). The app is examples/http/app.js
// (activate() + lifecycle(), graceful stop). For each mode: a steady phase
// (no restart) and N SIGHUP restarts under the same loopback load, one new
// connection per request. A restart window runs from the SIGHUP to the old
// app's exit (or to the new app's READY=1 when that is later, as it is with
// stop-then-start); the figure of merit is the p99 latency of the requests started
// in those windows divided by the steady p99 of the same mode in the same run:
// of a steady phase before the restarts, and of the quiet time between them
// (from 300 ms after a window to the next SIGHUP: interleaved, so paired).
// Target: overlapped <= 2x steady, 0 refused, 0 failed.
//
//   node bench/restart-overlap.js [--restarts 20] [--rate 500] [--interval 700] [--steady 10] [--rounds 1] [--json]
//
// --rounds R runs the pair R times, alternating which mode goes first.
// Needs a build (`npx tsc -p .` and the addon). Not a test: it only reports.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const readline = require('node:readline');
const { setTimeout: sleep } = require('node:timers/promises');
const { driverOptions, freePort, percentile, startLoad } = require('../scripts/load');

const root = path.join(__dirname, '..');
const CLI = path.join(root, 'dist', 'cli.js');
const APP = path.join(root, 'examples', 'http', 'app.js');
const HOST = '127.0.0.1';
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const { restarts: RESTARTS, rate: RATE, interval: INTERVAL, json: JSON_OUT } = driverOptions({ restarts: 20, rate: 500, interval: 700 });
const STEADY_S = arg('--steady', 10);
const ROUNDS = arg('--rounds', 1);
const WARMUP_RESTARTS = 2;

if (!fs.existsSync(CLI)) {
  console.error('restart-overlap: dist/cli.js is missing; build first (npx tsc -p .)');
  process.exit(2);
}

/** One mode: start the command, steady phase, restarts; every request with its start time. */
async function runMode(overlap) {
  const port = await freePort(HOST);
  const holder = spawn(process.execPath, [CLI, '-l', `${HOST}:${port}`, ...(overlap ? ['--overlap'] : []), '--', process.execPath, APP], {
    cwd: root, env: { ...process.env, PORT: String(port), HOST }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: holder.stderr }).on('line', (line) => {
    lines.push({ at: performance.now(), line });
    for (const w of waiters.slice()) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(performance.now()); }
  });
  const waitLine = (re, ms = 30000) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no line ${re} within ${ms} ms:\n${lines.slice(-15).map((l) => l.line).join('\n')}`)), ms);
    waiters.push({ re, resolve: (v) => { clearTimeout(t); resolve(v); } });
  });
  const pids = () => lines.map((l) => /started pid (\d+)/.exec(l.line)).filter(Boolean).map((m) => Number(m[1]));
  const exited = new Promise((r) => holder.once('exit', (code) => r(code)));
  try {
    await waitLine(/is ready after/);
    const results = [];
    const load = startLoad({ host: HOST, port, rate: RATE, timeoutMs: 10000,
      onResult: (kind, ms) => results.push({ start: performance.now() - ms, ms, kind }) });
    // A window: the SIGHUP to the old app's exit, or to the new one's READY=1
    // when that comes later (stop-then-start: the wait is after the exit).
    const restartOnce = async () => {
      const old = pids().at(-1);
      const gone = waitLine(new RegExp(`pid ${old} (exited|was killed)`));
      const ready = waitLine(new RegExp(`pid (?!${old} )\\d+ is ready after`));
      const from = performance.now();
      holder.kill('SIGHUP');
      const [exitAt, readyAt] = await Promise.all([gone, ready]);
      return { from, to: Math.max(exitAt, readyAt) };
    };
    for (let k = 0; k < WARMUP_RESTARTS; k++) { await restartOnce(); await sleep(INTERVAL); }
    const steadyFrom = performance.now();
    await sleep(STEADY_S * 1000);
    const steadyTo = performance.now();
    const windows = [];
    for (let k = 0; k < RESTARTS; k++) {
      windows.push(await restartOnce());
      await sleep(INTERVAL);
    }
    const stats = await load.stop();
    holder.kill('SIGTERM');
    await exited;
    const inWindow = (r) => windows.some((w) => r.start >= w.from && r.start <= w.to);
    // Steady state interleaved with the restarts: from 300 ms after a window to the next SIGHUP.
    const between = (r) => windows.some((w, k) => r.start >= w.to + 300 && r.start < (windows[k + 1]?.from ?? w.to + INTERVAL));
    const served = (sel) => results.filter((r) => r.kind === 'served' && sel(r)).map((r) => r.ms).sort((a, b) => a - b);
    const steady = served((r) => r.start >= steadyFrom && r.start <= steadyTo);
    const during = served(inWindow);
    const quiet = served(between);
    const p = (xs, q) => Math.round(percentile(xs, q) * 10) / 10;
    const windowMs = windows.map((w) => w.to - w.from).sort((a, b) => a - b);
    return {
      mode: overlap ? 'overlapped' : 'stop-then-start',
      sent: stats.sent, served: stats.served, refused: stats.refused, failed: stats.failed,
      p50Ms: stats.p50Ms, p99Ms: stats.p99Ms, maxMs: stats.worstMs,
      steady: { n: steady.length, p50Ms: p(steady, 50), p99Ms: p(steady, 99) },
      restarts: { n: during.length, p50Ms: p(during, 50), p99Ms: p(during, 99), maxMs: p(during, 100), windowP50Ms: Math.round(percentile(windowMs, 50)) },
      between: { n: quiet.length, p99Ms: p(quiet, 99) },
      ratio: Math.round((percentile(during, 99) / percentile(steady, 99)) * 100) / 100,
      ratioBetween: Math.round((percentile(during, 99) / percentile(quiet, 99)) * 100) / 100,
    };
  } catch (err) {
    holder.kill('SIGKILL');
    throw err;
  }
}

async function main() {
  const runs = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const overlap of order) runs.push(await runMode(overlap));
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ restarts: RESTARTS, rate: RATE, interval: INTERVAL, steadyS: STEADY_S, runs }));
    return;
  }
  console.log(`restarts under sd-activate: ${RESTARTS} SIGHUPs every ~${INTERVAL} ms at ${RATE} connections/s, steady phase ${STEADY_S} s (examples/http/app.js)`);
  console.log('| mode | sent | refused | failed | p50 / p99 / max (all, ms) | restart-window p99 (max) | steady p99: phase / between | ratio to phase / between | window p50 |');
  console.log('|---|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const x of runs) {
    console.log(`| ${x.mode} | ${x.sent} | ${x.refused} | ${x.failed} | ${x.p50Ms} / ${x.p99Ms} / ${x.maxMs} | ${x.restarts.p99Ms} ms (${x.restarts.maxMs}) | ${x.steady.p99Ms} / ${x.between.p99Ms} ms | **${x.ratio}× / ${x.ratioBetween}×** | ${x.restarts.windowP50Ms} ms |`);
  }
}

main().catch((err) => {
  console.error(`restart-overlap: ${err.message}`);
  process.exit(1);
});
