#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// Restart soak for the `sd-activate` command (issue 7, item 4): the example
// HTTP app (examples/http/app.js, socket-activated through activate()) is
// restarted N times (SIGHUP to sd-activate: SIGTERM to the app, graceful
// drain, the next app on the same socket) under a bounded loopback load.
// It prints what the load saw (sent, served, refused, failed, latency), how
// long each restart took (SIGHUP to READY=1), the holder's open fds and RSS
// over the run, and the kernel's SYN retransmits / listen drops.
//
//   node bench/restart-cli.js [--restarts 100] [--rate 300] [--interval 500] [--json]
//
// Exit status 0 when nothing was refused or failed and the holder's fd count
// did not grow; 1 otherwise. Needs a build (`npx tsc -p .` and the addon).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { driverOptions, formatStats, freePort, percentile, startLoad } = require('../scripts/load');

const root = path.join(__dirname, '..');
const CLI = path.join(root, 'dist', 'cli.js');
const APP = path.join(root, 'examples', 'http', 'app.js');
const HOST = '127.0.0.1';

const { restarts: RESTARTS, rate: RATE, interval: INTERVAL, json: JSON_OUT } =
  driverOptions({ restarts: 100, rate: 300, interval: 500 });
const { setTimeout: sleep } = require('node:timers/promises');

if (!fs.existsSync(CLI)) {
  console.error('restart-cli: dist/cli.js is missing; build first (npx tsc -p .)');
  process.exit(2);
}

/** TcpExt counters from /proc/net/netstat (this network namespace). */
function tcpExt() {
  try {
    const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const keys = lines[i].split(/\s+/).slice(1);
    const vals = lines[i + 1].split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(keys.map((k, j) => [k, vals[j]]));
  } catch {
    return {};
  }
}

function holderFds(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

function holderRssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

const pct = percentile;

async function main() {
  const port = await freePort(HOST);
  const holder = spawn(process.execPath, [CLI, '-l', `${HOST}:${port}`, '--', process.execPath, APP], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = [];
  let readyCount = 0;
  let onReady = null;
  readline.createInterface({ input: holder.stderr }).on('line', (line) => {
    lines.push(line);
    if (/^sd-activate: pid \d+ is ready after/.test(line)) {
      readyCount++;
      if (onReady) onReady();
    }
  });
  const exited = new Promise((r) => holder.once('exit', (code, signal) => r({ code, signal })));
  const waitReady = (n, ms = 30000) => new Promise((resolve, reject) => {
    if (readyCount >= n) return resolve();
    const t = setTimeout(() => reject(new Error(`no READY #${n} within ${ms} ms:\n${lines.slice(-20).join('\n')}`)), ms);
    onReady = () => {
      if (readyCount >= n) {
        clearTimeout(t);
        onReady = null;
        resolve();
      }
    };
  });

  try {
    await waitReady(1);
    const fdsFirst = holderFds(holder.pid);
    let fdsStart = fdsFirst;
    const rssStart = holderRssKb(holder.pid);
    const fdSamples = [fdsFirst];
    const before = tcpExt();
    const load = startLoad({ host: HOST, port, rate: RATE, timeoutMs: 10000 });
    const restartMs = [];
    const t0 = Date.now();
    for (let k = 1; k <= RESTARTS; k++) {
      await sleep(INTERVAL);
      const s = process.hrtime.bigint();
      holder.kill('SIGHUP');
      await waitReady(k + 1);
      restartMs.push(Number(process.hrtime.bigint() - s) / 1e6);
      // The baseline is taken after the first restart: the holder opens its
      // notify marker socket (one fd, kept) when the first child exits.
      if (k === 1) fdsStart = holderFds(holder.pid);
      if (k % 10 === 0) {
        fdSamples.push(holderFds(holder.pid));
        process.stderr.write(`restart-cli: ${k}/${RESTARTS} restarts, ${formatStats(load.stats())}\n`);
      }
    }
    await sleep(INTERVAL);
    const stats = await load.stop();
    const after = tcpExt();
    const fdsEnd = holderFds(holder.pid);
    const rssEnd = holderRssKb(holder.pid);
    holder.kill('SIGTERM');
    const end = await exited;
    const sorted = restartMs.slice().sort((a, b) => a - b);
    const delta = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    const result = {
      restarts: RESTARTS,
      rate: RATE,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      ...stats,
      restartMs: { p50: Math.round(pct(sorted, 50)), p99: Math.round(pct(sorted, 99)), max: Math.round(sorted[sorted.length - 1]) },
      holder: { fdsFirst, fdsStart, fdsEnd, fdsMax: Math.max(...fdSamples, fdsEnd), rssStartKb: rssStart, rssEndKb: rssEnd, exit: end.code },
      kernel: { synRetrans: delta('TCPSynRetrans'), listenOverflows: delta('ListenOverflows'), listenDrops: delta('ListenDrops') },
    };
    const ok = stats.refused === 0 && stats.failed === 0 && stats.served === stats.sent && fdsEnd <= fdsStart && end.code === 0;
    if (JSON_OUT) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`sd-activate restart soak: ${RESTARTS} restarts of examples/http/app.js under ${RATE} connections/s (${result.seconds} s)`);
      console.log(`  load:     ${formatStats(stats)}`);
      console.log(`  restarts: SIGHUP to READY=1 p50 ${result.restartMs.p50} ms, p99 ${result.restartMs.p99} ms, max ${result.restartMs.max} ms`);
      console.log(`  holder:   open fds ${fdsFirst} before the first restart, ${fdsStart} after it, ${fdsEnd} at the end (max ${result.holder.fdsMax}); RSS ${Math.round(rssStart / 1024)} MiB -> ${Math.round(rssEnd / 1024)} MiB; exit ${end.code}`);
      console.log(`  kernel:   SYN retransmits ${result.kernel.synRetrans}, listen overflows ${result.kernel.listenOverflows}, listen drops ${result.kernel.listenDrops} (whole namespace)`);
      console.log(ok ? '  result:   0 refused, 0 failed, no fd growth' : '  result:   FAILED (see above)');
    }
    process.exit(ok ? 0 : 1);
  } catch (err) {
    console.error(`restart-cli: ${err.message}`);
    holder.kill('SIGTERM');
    process.exit(1);
  }
}

main();
