#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Start-up, measured side by side: process start -> first served request for
// one http server started five ways (bench/startup-child.js), in paired,
// interleaved rounds (the order rotates each round):
//   own       server.listen({ port }): binds itself (the client retries, as clients do)
//   bare      server.listen({ fd: 3 }) on an inherited socket, no library: the reference
//   activate1 activate() + activation.listen(), 1 inherited fd
//   activate4 the same with 4 listeners and 4 inherited fds
//   nolib     activate1 with SD_ACTIVATE_BACKEND=builtin: libsystemd never
//             loaded, what reading the environment without libsystemd would
//             give at most
//   preload   --require sd-activate/register, the app's own listen({ port })
// Each round's ratio to `bare` is that round's; the statistic is the median of
// the per-round ratios (min and median times alongside). Then where the time
// goes on the activate path, in fresh processes (startup-child.js breakdown):
// require, the addon's load, the backend's (libsystemd's dlopen), activate().
// Each run then breaks the activate path down again, and the end says in how
// many runs each of issue 16's targets was met (median within the target).
//   node bench/startup.js [--rounds 25] [--runs 3] [--breakdown 25]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { median, freePort } = require('../scripts/load');

const native = require('node-gyp-build')(path.join(__dirname, '..'));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const ROUNDS = opt('--rounds', 25);
const RUNS = opt('--runs', 3);
const child = path.join(__dirname, 'startup-child.js');
const pkg = path.join(__dirname, '..');
const MODES = ['own', 'bare', 'activate1', 'activate4', 'nolib', 'preload'];
const TARGET = 1.05; // activate1 / bare (issue 16)
const BREAKDOWN = opt('--breakdown', 25); // fresh processes per fd count and run

function get(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
  });
}

/** Sockets at fds 3.. of the child, with LISTEN_PID its own pid (through `sh -c exec`, as every mode is started). */
function start(mode, port, fds, nodeArgs = []) {
  const env = (fds.length ? `LISTEN_PID=$$ LISTEN_FDS=${fds.length} ` : '') + (mode === 'nolib' ? 'SD_ACTIVATE_BACKEND=builtin ' : '');
  const m = mode.startsWith('activate') || mode === 'nolib' ? 'activate' : mode;
  return spawn('sh', ['-c', `${env}exec "$0" "$@"`, process.execPath, ...nodeArgs, child, m, String(port), String(fds.length)],
    { stdio: ['ignore', 'ignore', 'ignore', ...fds] });
}

async function firstRequest(mode) {
  const n = mode === 'activate4' ? 4 : mode === 'own' ? 0 : 1;
  const fds = [];
  for (let i = 0; i < n; i++) fds.push(native.openSocket('tcp', '127.0.0.1', 0, 511, -1));
  if (fds.some((fd) => fd < 0)) throw new Error(`no socket: ${fds}`);
  const ports = n ? fds.map((fd) => native.describeSocket(fd).port) : [await freePort()];
  const base = ports[0];
  const nodeArgs = mode === 'preload' ? ['--require', path.join(pkg, 'dist', 'register.js')] : [];
  const t0 = process.hrtime.bigint();
  const proc = start(mode, ports.join(','), fds, nodeArgs);
  for (const fd of fds) native.close(fd);
  const exited = new Promise((r) => proc.once('close', r));
  if (n > 0) {
    // Waits in the backlog until the child serves it.
    if (!(await get(base))) throw new Error(`${mode}: the first request failed`);
  } else {
    const deadline = Date.now() + 10000;
    while (!(await get(base))) {
      if (Date.now() > deadline) throw new Error('own: no answer within 10 s');
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await exited;
  return ms;
}

async function run() {
  const times = Object.fromEntries(MODES.map((m) => [m, []]));
  const ratios = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let w = 0; w < 2; w++) for (const m of MODES) await firstRequest(m); // warm-up: caches, the page cache
  for (let r = 0; r < ROUNDS; r++) {
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]);
    const round = {};
    for (const m of order) round[m] = await firstRequest(m);
    for (const m of MODES) {
      times[m].push(round[m]);
      ratios[m].push(round[m] / round.bare);
    }
  }
  return { times, ratios };
}

/** Fresh processes of startup-child.js in `mode` (breakdown, loader) with `nfds` sockets at fds 3..; their JSON lines. */
function children(mode, nfds, rounds) {
  const rows = [];
  for (let r = 0; r < rounds; r++) {
    const fds = [];
    for (let i = 0; i < nfds; i++) fds.push(native.openSocket('tcp', '127.0.0.1', 0, 16, -1));
    const ports = nfds ? fds.map((fd) => native.describeSocket(fd).port).join(',') : '1';
    const env = nfds ? `LISTEN_PID=$$ LISTEN_FDS=${nfds} ` : '';
    const out = spawnSync('sh', ['-c', `${env}exec "$0" "$@"`, process.execPath, child, mode, ports, String(nfds)],
      { stdio: ['ignore', 'pipe', 'pipe', ...fds], encoding: 'utf8' });
    for (const fd of fds) native.close(fd);
    if (out.status !== 0) throw new Error(`startup-child ${mode}: ${out.stderr}`);
    const j = JSON.parse(out.stdout);
    if (mode === 'breakdown' && j.adopted !== nfds) throw new Error(`breakdown: adopted ${j.adopted} of ${nfds} fds`);
    rows.push(j);
  }
  return rows;
}

function breakdown(nfds, rounds) {
  const rows = children('breakdown', nfds, rounds);
  const med = (k) => median(rows.map((x) => x[k]));
  return { http: med('http'), require: med('require'), addon: med('addon'), backend: med('backend'), activate: med('activate'),
    total: median(rows.map((x) => x.require + x.addon + x.backend + x.activate)), firstActivate: median(rows.map((x) => x.addon + x.backend + x.activate)),
    loaded: rows[0].loaded, cache: rows[0].cache };
}

const f = (x) => x.toFixed(2);

// Issue 16's targets for the breakdown (ms): each met when the median of a run is within it.
const LIMITS = [
  ['first activate(), no fds', 0, 'firstActivate', 0.5],
  ['first activate(), one fd', 1, 'firstActivate', 1],
  ['require + activate(), no fds', 0, 'total', 2],
  ['require + activate(), one fd', 1, 'total', 2],
];

async function main() {
  console.log(`start-up: process start -> first served request; ${ROUNDS} paired interleaved rounds per run (2 warm-up), ${RUNS} runs`);
  const met = [];
  const limitsMet = LIMITS.map(() => 0);
  let cache;
  for (let k = 1; k <= RUNS; k++) {
    const { times, ratios } = await run();
    console.log(`\nrun ${k}\n| mode | min | median | median of per-round ratio to bare |`);
    console.log('|---|---:|---:|---:|');
    for (const m of MODES) {
      const sorted = times[m].slice().sort((a, b) => a - b);
      console.log(`| ${m} | ${f(sorted[0])} ms | ${f(median(times[m]))} ms | ${f(median(ratios[m]))}x |`);
    }
    met.push(median(ratios.activate1) <= TARGET);

    console.log(`\nrun ${k}: where the time goes (fresh processes that loaded node:http first; medians of ${BREAKDOWN})`);
    console.log('| inherited fds | require(\'node:http\') (reference) | require(\'sd-activate\') | the addon | the backend (libsystemd dlopen) | activate() | require + activate() | first activate() (addon + backend + call) |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    const rows = {};
    for (const n of [0, 1, 4]) {
      const b = (rows[n] = breakdown(n, BREAKDOWN));
      ({ cache } = b);
      console.log(`| ${n} | ${f(b.http)} ms | ${f(b.require)} ms | ${f(b.addon)} ms | ${f(b.backend)} ms (${n ? b.loaded : 'not loaded'}) | ${f(b.activate)} ms | ${f(b.total)} ms | ${f(b.firstActivate)} ms |`);
    }
    LIMITS.forEach(([, n, key, limit], i) => { if (rows[n][key] <= limit) limitsMet[i]++; });
  }
  console.log(`(the bundle compiled with its code cache: ${cache}; lib/load.ts)`);
  console.log(`\nactivate1 / bare <= ${TARGET}x: met in ${met.filter(Boolean).length} of ${RUNS} runs`);
  LIMITS.forEach(([what, , , limit], i) => console.log(`${what} <= ${limit} ms: met in ${limitsMet[i]} of ${RUNS} runs`));

  // The require's parts: lib/load.ts's steps replayed in fresh processes.
  const parts = children('loader', 0, BREAKDOWN);
  console.log(`\nrequire('sd-activate') step by step (the loader's Node calls replayed, no fds; medians of ${BREAKDOWN}; code cache: ${parts[0].cache})`);
  for (const k of Object.keys(parts[0]).filter((x) => x !== 'cache')) console.log(`  ${k}: ${f(median(parts.map((p) => p[k])))} ms`);
}
main().catch((e) => { console.error(e); process.exit(1); });
