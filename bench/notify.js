#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Notify cost per call, measured side by side in one run (rounds interleave
// the contenders; medians reported), as ratios to a raw sendmsg() loop on one
// connected socket, the physical limit:
//   raw sendmsg loop (C)        bench/notify-raw.c "raw"
//   libsystemd sd_notify (C)    a socket opened, sent and closed per call
//   ours, libsystemd backend    sd-activate status(), SD_ACTIVATE_BACKEND default
//   ours, builtin backend       SD_ACTIVATE_BACKEND=builtin
//   sd-notify (npm)             its sendStatus(), built on demand with node-gyp
//   spawn systemd-notify        what many apps do
// The receiver is a C process draining a datagram socket as fast as it can.
//   node bench/notify.js [--calls N] [--rounds R]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { median } = require('../scripts/load');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
// Few enough calls per round that every datagram fits the sender's 8 MiB
// buffer: a call that fails with EAGAIN is cheaper than a send and would
// flatter whoever outruns the receiver.
const CALLS = opt('--calls', 5000);
const ROUNDS = opt('--rounds', 21);
const root = path.join(__dirname, '..');
const buildDir = path.join(__dirname, 'build');
fs.mkdirSync(buildDir, { recursive: true });

function compile() {
  const out = path.join(buildDir, 'notify-raw');
  const lib = spawnSync('pkg-config', ['--libs', 'libsystemd'], { encoding: 'utf8' });
  const withLib = lib.status === 0;
  const cc = ['-O2', '-o', out, path.join(__dirname, 'notify-raw.c')];
  const r = spawnSync('cc', withLib ? [...cc, '-DWITH_LIBSYSTEMD', ...lib.stdout.trim().split(/\s+/)] : cc, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('cannot compile bench/notify-raw.c');
  return { bin: out, withLib };
}

function sdNotifyAvailable() {
  const dir = path.dirname(require.resolve('sd-notify/package.json'));
  const load = () => spawnSync(process.execPath, ['-e', "require('sd-notify')"], { stdio: 'ignore' }).status === 0;
  if (load()) return true;
  console.error('building the sd-notify npm package (node-gyp) for comparison...');
  spawnSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild'], { cwd: dir, stdio: 'ignore' });
  return load();
}

function runJson(cmd, argv, env) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

// AF_UNIX datagram queues hold net.unix.max_dgram_qlen messages (10 by
// default; systemd raises it to 512 at boot). A full queue makes every
// non-blocking sender fail fast, which would time failures instead of sends,
// so as root the bench runs in a private network namespace with a deep queue.
function deepQueue() {
  if (process.env.SDACT_BENCH_NETNS === '1') {
    fs.writeFileSync('/proc/sys/net/unix/max_dgram_qlen', '10000000');
    return true;
  }
  if (process.getuid && process.getuid() === 0) {
    const r = spawnSync('unshare', ['--net', process.execPath, __filename, ...args],
      { stdio: 'inherit', env: { ...process.env, SDACT_BENCH_NETNS: '1' } });
    if (!r.error) process.exit(r.status ?? 1);
  }
  console.error('not root: the receiver queue stays at net.unix.max_dgram_qlen; failed calls are counted');
  return false;
}

async function main() {
  deepQueue();
  const { bin, withLib } = compile();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-bench-notify-'));
  const sock = path.join(dir, 'notify');
  const receiver = spawn(bin, ['recv', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => receiver.stdout.once('data', resolve));
  const env = { NOTIFY_SOCKET: sock };
  const worker = path.join(__dirname, 'notify-worker.js');
  const backends = ['libsystemd', 'builtin'].filter((b) =>
    runJson(process.execPath, ['-p', `require('node-gyp-build')(${JSON.stringify(root)}).backend`], { SD_ACTIVATE_BACKEND: b }) === b);

  const contenders = [
    { name: 'raw sendmsg loop (C, one connected socket)', run: (n) => runJson(bin, ['raw', sock, String(n)]).split(' ') },
  ];
  if (withLib) contenders.push({ name: 'libsystemd sd_notify (C)', run: (n) => runJson(bin, ['sdnotify', sock, String(n)]).split(' ') });
  for (const b of backends) {
    contenders.push({
      name: `sd-activate status(), ${b} backend`,
      run: (n) => { const j = JSON.parse(runJson(process.execPath, [worker, 'ours', String(n)], { ...env, SD_ACTIVATE_BACKEND: b })); return [j.nsPerCall, j.failed]; },
    });
  }
  contenders.push({
    name: '(sd-activate native.notify, no TypeScript layer)',
    run: (n) => { const j = JSON.parse(runJson(process.execPath, [worker, 'native', String(n)], env)); return [j.nsPerCall, j.failed]; },
  });
  if (sdNotifyAvailable()) {
    contenders.push({
      name: 'sd-notify npm sendStatus()',
      run: (n) => { const j = JSON.parse(runJson(process.execPath, [worker, 'sd-notify', String(n)], env)); return [j.nsPerCall, j.failed]; },
    });
  } else {
    console.error('sd-notify npm package could not be built here; skipped');
  }
  if (spawnSync('systemd-notify', ['--help'], { stdio: 'ignore' }).status === 0) {
    contenders.push({
      name: 'spawn systemd-notify --status',
      calls: 40,
      run: (n) => { const j = JSON.parse(runJson(process.execPath, [worker, 'systemd-notify', String(n)], env)); return [j.nsPerCall, j.failed]; },
    });
  }

  const samples = new Map(contenders.map((c) => [c.name, []]));
  const failures = new Map(contenders.map((c) => [c.name, 0]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of contenders) {
      const [ns, failed] = c.run(c.calls ?? CALLS);
      samples.get(c.name).push(Number(ns));
      failures.set(c.name, failures.get(c.name) + Number(failed));
    }
  }
  receiver.kill('SIGTERM');
  await new Promise((r) => receiver.once('close', r));
  fs.rmSync(dir, { recursive: true, force: true });

  const raw = median(samples.get(contenders[0].name));
  console.log(`\nnotify cost per call: ${ROUNDS} interleaved rounds of ${CALLS} calls (spawn: 40), medians, ${os.cpus().length} cores`);
  console.log('| contender | per call | vs raw loop | failed calls |');
  console.log('|---|---:|---:|---:|');
  for (const c of contenders) {
    const m = median(samples.get(c.name));
    const per = m >= 1e6 ? `${(m / 1e6).toFixed(2)} ms` : `${(m / 1000).toFixed(2)} µs`;
    console.log(`| ${c.name} | ${per} | ${(m / raw).toFixed(2)}x | ${failures.get(c.name)} |`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
