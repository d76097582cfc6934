#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Notify costs measured side by side, in three groups, each in paired
// interleaved rounds against its reference (the order rotates each round;
// the statistic is the median of the per-round ratios, printed per run):
//   notify per call   sd-activate status() (each backend), the addon's primitive,
//                     libsystemd sd_notify (a socket per call), the sd-notify
//                     npm package, spawning systemd-notify: vs a raw sendmsg()
//                     loop on one connected socket (bench/notify-raw.c "raw")
//   FDSTORE=1, 1 fd   notify({ FDSTORE: 1 }, { fds }) and a raw sendmsg with one
//                     fd: vs libsystemd sd_pid_notify_with_fds
//   barrier           await barrier() and a raw pipe + sendmsg + poll: vs
//                     libsystemd sd_notify_barrier (blocking)
// The receiver is a C process draining a datagram socket as fast as it can
// (without a control buffer: the kernel closes passed fds at once, as the
// manager closes a barrier's).
//   node bench/notify.js [--calls N] [--rounds R] [--runs 3] [--only notify|fdstore|barrier]
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
const RUNS = opt('--runs', 3);
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

  // Three groups, each timed against its reference in the same round:
  // notify per call vs the raw loop, FDSTORE with one fd vs libsystemd, barrier vs libsystemd.
  const ours = (contender) => (b) => (n) => {
    const j = JSON.parse(runJson(process.execPath, [worker, contender, String(n)], { ...env, ...(b ? { SD_ACTIVATE_BACKEND: b } : {}) }));
    return [j.nsPerCall, j.failed];
  };
  const c = (mode) => (n) => runJson(bin, [mode, sock, String(n)]).split(' ');
  const groups = [
    { title: 'notify per call', reference: 'raw sendmsg loop (C, one connected socket)', target: 1.3, targetOf: /^sd-activate status\(\)/,
      contenders: [
        { name: 'raw sendmsg loop (C, one connected socket)', run: c('raw') },
        ...backends.map((b) => ({ name: `sd-activate status(), ${b} backend`, run: ours('ours')(b) })),
        { name: '(the addon\'s notifyState() that status() calls, no TypeScript layer)', run: ours('native')() },
        ...(withLib ? [{ name: 'libsystemd sd_notify (C)', run: c('sdnotify') }] : []),
        ...(sdNotifyAvailable() ? [{ name: 'sd-notify npm sendStatus()', run: ours('sd-notify')() }] : []),
        ...(spawnSync('systemd-notify', ['--help'], { stdio: 'ignore' }).status === 0
          ? [{ name: 'spawn systemd-notify --status', calls: 40, run: ours('systemd-notify')() }] : []),
      ] },
  ];
  if (withLib) {
    groups.push({ title: 'FDSTORE=1 with one fd', reference: 'libsystemd sd_pid_notify_with_fds (C)', target: 1.1, targetOf: /^sd-activate/,
      contenders: [
        { name: 'libsystemd sd_pid_notify_with_fds (C)', run: c('sdfds') },
        { name: 'raw sendmsg with one fd (C, one connected socket)', run: c('rawfd') },
        ...backends.map((b) => ({ name: `sd-activate notify({ FDSTORE: 1 }, { fds }), ${b} backend`, run: ours('fdstore')(b) })),
      ] });
    groups.push({ title: 'barrier round trip', reference: 'libsystemd sd_notify_barrier (C, blocking)', target: 1.5, targetOf: /^sd-activate/,
      contenders: [
        { name: 'libsystemd sd_notify_barrier (C, blocking)', calls: 2000, run: c('sdbarrier') },
        { name: 'raw pipe + sendmsg + poll (C)', calls: 2000, run: c('rawbarrier') },
        ...backends.map((b) => ({ name: `sd-activate await barrier(), ${b} backend`, calls: 2000, run: ours('barrier')(b) })),
      ] });
  } else {
    console.error('no libsystemd (pkg-config): the FDSTORE and barrier groups, measured against it, are skipped');
  }

  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined; // notify, fdstore or barrier
  if (only) groups.splice(0, groups.length, ...groups.filter((g) => g.title.toLowerCase().includes(only.toLowerCase())));
  const all = groups.flatMap((g) => g.contenders);
  const met = new Map();
  for (let run = 1; run <= RUNS; run++) {
    const samples = new Map(all.map((x) => [x.name, []]));
    const ratios = new Map(all.map((x) => [x.name, []]));
    const failures = new Map(all.map((x) => [x.name, 0]));
    for (let r = 0; r < ROUNDS + 1; r++) { // round 0 is the warm-up
      for (const g of groups) {
        const order = g.contenders.map((_, i) => g.contenders[(i + r) % g.contenders.length]);
        const round = new Map();
        for (const x of order) {
          const [ns, failed] = x.run(x.calls ?? CALLS);
          round.set(x.name, Number(ns));
          if (r > 0) failures.set(x.name, failures.get(x.name) + Number(failed));
        }
        if (r === 0) continue;
        for (const x of g.contenders) {
          samples.get(x.name).push(round.get(x.name));
          ratios.get(x.name).push(round.get(x.name) / round.get(g.reference));
        }
      }
    }
    console.log(`\nrun ${run}: ${ROUNDS} paired interleaved rounds (after one warm-up round) of ${CALLS} calls (barrier 2000, spawn 40), ${os.cpus().length} cores`);
    for (const g of groups) {
      console.log(`\n${g.title}\n| contender | per call (min / median) | median of per-round ratio to the first | failed calls |`);
      console.log('|---|---:|---:|---:|');
      for (const x of g.contenders) {
        const sorted = samples.get(x.name).slice().sort((a, b) => a - b);
        const per = (m) => (m >= 1e6 ? `${(m / 1e6).toFixed(2)} ms` : `${(m / 1000).toFixed(2)} µs`);
        const ratio = median(ratios.get(x.name));
        console.log(`| ${x.name} | ${per(sorted[0])} / ${per(median(sorted))} | ${ratio.toFixed(2)}x | ${failures.get(x.name)} |`);
        if (g.targetOf.test(x.name)) met.set(x.name, [...(met.get(x.name) ?? []), { ratio, ok: ratio <= g.target, target: g.target }]);
      }
    }
  }
  receiver.kill('SIGTERM');
  await new Promise((r) => receiver.once('close', r));
  fs.rmSync(dir, { recursive: true, force: true });
  console.log('\ntargets (issue 16): median of per-round ratios, per run');
  for (const [name, runs] of met) {
    console.log(`- ${name}: <= ${runs[0].target}x in ${runs.filter((x) => x.ok).length} of ${runs.length} runs (${runs.map((x) => `${x.ratio.toFixed(2)}x`).join(', ')})`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
