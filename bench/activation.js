#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Activation overhead and matching scale, measured side by side in one run:
//   1. import cost of sd-activate (vs node:http, as a yardstick)
//   2. process start -> first served request: an http server binding its own
//      port vs the same server adopting an inherited socket through activate()
//      (the client connects right after spawn; the backlog holds it)
//   3. activate() over 10 / 100 / 1000 inherited fds against as many listeners
//      (real fds in a real child), and the pure matcher alone at the same sizes
//   node bench/activation.js [--rounds R]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const native = require('node-gyp-build')(path.join(__dirname, '..'));

const args = process.argv.slice(2);
const ROUNDS = (() => { const i = args.indexOf('--rounds'); return i >= 0 ? Number(args[i + 1]) : 15; })();
const child = path.join(__dirname, 'activation-child.js');
const { median, freePort } = require('../scripts/load');
const fmt = (x) => `${x.toFixed(2)} ms`;

function get(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', () => resolve(false));
  });
}

async function firstRequest(mode) {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  let proc;
  if (mode === 'activated') {
    const fd = native.openSocket('tcp', '127.0.0.1', port, 511, -1);
    proc = spawn('sh', ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"', process.execPath, child, 'serve-activated', String(port)],
      { stdio: ['ignore', 'ignore', 'inherit', fd] });
    native.close(fd);
    // Waits in the backlog until the child serves it.
    if (!(await get(port))) throw new Error('the activated child did not serve the first request');
  } else {
    // Through the same `sh -c exec` as the activated child, so both pay for it.
    proc = spawn('sh', ['-c', 'exec "$0" "$@"', process.execPath, child, 'serve-plain', String(port)],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    // A self-binding server refuses until it listens: retry as a client would.
    const deadline = Date.now() + 10000;
    while (!(await get(port))) {
      if (Date.now() > deadline) throw new Error('the self-binding child did not serve within 10 s');
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('close', r));
  return elapsed;
}

function matchInChild(n) {
  const fds = [];
  for (let i = 0; i < n; i++) fds.push(native.openSocket('tcp', '127.0.0.1', 0, 16, -1));
  const r = spawnSync('sh', ['-c', `ulimit -n ${n + 1024}; LISTEN_PID=$$ LISTEN_FDS=${n} exec "$0" "$@"`, process.execPath, child, 'match', String(n)],
    { stdio: ['ignore', 'pipe', 'inherit', ...fds], encoding: 'utf8' });
  for (const fd of fds) native.close(fd);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function pureMatch(n) {
  const { normalizeConfig } = require('../dist/activation/listeners');
  const { matchSockets } = require('../dist/activation/match');
  const config = {};
  const candidates = [];
  for (let i = 0; i < n; i++) {
    config[`l${i}`] = { port: 10000 + i, bind: '127.0.0.1' };
    candidates.push({ fd: 3 + i, name: 'unknown', desc: { fileType: 'socket', family: 'inet', type: 'stream', listening: true, address: '127.0.0.1', port: 10000 + i, path: '', v6only: false } });
  }
  const listeners = normalizeConfig(config);
  const reps = Math.max(1, Math.floor(2000 / n));
  const t0 = process.hrtime.bigint();
  let adopted = 0;
  for (let k = 0; k < reps; k++) adopted = matchSockets(listeners, candidates).adopted.length;
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6 / reps, adopted };
}

async function main() {
  console.log(`activation overhead: ${ROUNDS} interleaved rounds, medians`);
  const imp = { http: [], sd: [] };
  const first = { plain: [], activated: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const j = JSON.parse(spawnSync(process.execPath, [child, 'import'], { encoding: 'utf8' }).stdout);
    imp.http.push(j.httpMs);
    imp.sd.push(j.sdActivateMs);
    first.plain.push(await firstRequest('plain'));
    first.activated.push(await firstRequest('activated'));
  }
  console.log('\n| measure | sd-activate | baseline | ratio |');
  console.log('|---|---:|---:|---:|');
  console.log(`| import (require) | ${fmt(median(imp.sd))} | ${fmt(median(imp.http))} (node:http) | ${(median(imp.sd) / median(imp.http)).toFixed(2)}x |`);
  console.log(`| process start -> first served request | ${fmt(median(first.activated))} (adopted fd) | ${fmt(median(first.plain))} (listen()) | ${(median(first.activated) / median(first.plain)).toFixed(2)}x |`);

  console.log('\nmatching scale: N inherited fds against N listeners');
  console.log('| N | activate() in a child (real fds) | adopted | pure matcher | per fd |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const n of [10, 100, 1000]) {
    const runs = [];
    let last;
    for (let r = 0; r < 3; r++) {
      last = matchInChild(n);
      if (last.adopted !== n) throw new Error(`activate() adopted ${last.adopted} of ${n} fds`);
      runs.push(last.activateMs);
    }
    const pure = pureMatch(n);
    console.log(`| ${n} | ${fmt(median(runs))} | ${last.adopted}/${n} | ${fmt(pure.ms)} | ${((median(runs) / n) * 1000).toFixed(1)} µs |`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
