// SPDX-License-Identifier: MIT
'use strict';
// One contender of bench/notify.js, in its own process (so each backend and
// library loads fresh): node notify-worker.js <contender> <calls>
// Contenders: ours (status()), fdstore (notify() with FDSTORE=1 and one fd),
// barrier (await barrier()), native, sd-notify, systemd-notify.
// Prints {"nsPerCall": n, "failed": k}. NOTIFY_SOCKET comes from the parent.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const [contender, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);

function time(fn, n) {
  // Warm up until the JIT has compiled the path (as in a long-running
  // server), then let the receiver drain the queue before timing.
  const warm = contender === 'systemd-notify' ? 2 : 20000;
  for (let i = 0; i < warm; i++) fn();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  let failed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!fn()) failed++;
  const t1 = process.hrtime.bigint();
  return { nsPerCall: Number(t1 - t0) / n, failed };
}

async function timeAsync(fn, n) {
  for (let i = 0; i < 2000; i++) await fn();
  let failed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!(await fn())) failed++;
  const t1 = process.hrtime.bigint();
  return { nsPerCall: Number(t1 - t0) / n, failed };
}

let fn;
if (contender === 'barrier') {
  const sd = require(path.join(__dirname, '..', 'dist'));
  timeAsync(() => sd.barrier().catch(() => false), calls).then((r) => console.log(JSON.stringify(r)));
  return;
}
if (contender === 'ours') {
  const sd = require(path.join(__dirname, '..', 'dist'));
  fn = () => { try { return sd.status('bench'); } catch { return false; } };
} else if (contender === 'fdstore') {
  const sd = require(path.join(__dirname, '..', 'dist'));
  const fd = require('node:fs').openSync('/dev/null', 'r');
  const fds = [fd];
  fn = () => { try { return sd.notify({ FDSTORE: 1, FDNAME: 'bench' }, { fds }); } catch { return false; } };
} else if (contender === 'native') {
  // The addon's notify primitive status() calls, without the TypeScript layer (diagnostic row).
  const native = require('node-gyp-build')(path.join(__dirname, '..'));
  fn = () => native.notifyState('STATUS=bench') > 0;
} else if (contender === 'sd-notify') {
  const n = require('sd-notify');
  fn = () => { n.sendStatus('bench'); return true; };
} else if (contender === 'systemd-notify') {
  fn = () => spawnSync('systemd-notify', ['--status=bench'], { stdio: 'ignore' }).status === 0;
} else {
  throw new Error(`unknown contender ${contender}`);
}
console.log(JSON.stringify(time(fn, calls)));
