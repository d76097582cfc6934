// SPDX-License-Identifier: MIT
'use strict';
// The watchdog: sd_watchdog_enabled typed (WATCHDOG_USEC / WATCHDOG_PID), and
// the pinger in real children against a real receiver: cadence, idempotent
// start, unref'd timer, stop, run-time timeout, and no pings while the event
// loop is blocked or healthy() is false (with the reason observable).
// Bounds are count-based and generous; nothing asserts a precise time.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { startReceiver } = require('./helpers/receiver');
const { runChild, FIXTURES } = require('./helpers/child');
const { plainEnv, shExec } = require('./helpers/common');

function app(mode, env, { arg, timeout = 20000 } = {}) {
  return runChild({ script: 'watchdog-app.js', args: arg ? [mode, arg] : [mode], env, timeout });
}

const pingsFrom = (receiver, pid) => receiver.messages.filter((m) => m.pid === pid && m.text === 'WATCHDOG=1');

/** Texts from pid, as a list, once `STATUS=end` from it has arrived. */
async function textsUntilEnd(receiver, pid) {
  await receiver.next((m) => m.pid === pid && m.text === 'STATUS=end');
  return receiver.messages.filter((m) => m.pid === pid).map((m) => m.text);
}

/** The texts strictly between two markers. */
function between(list, from, to) {
  const a = list.indexOf(from);
  const b = list.indexOf(to, a + 1);
  assert.ok(a >= 0 && b > a, `${from} ... ${to} in ${JSON.stringify(list)}`);
  return list.slice(a + 1, b);
}

test('watchdogEnabled reads WATCHDOG_USEC and honours WATCHDOG_PID', async () => {
  let r = await app('enabled', {});
  assert.deepEqual(r.json.info, { enabled: false, usec: 0 });
  assert.equal(r.json.running, false, 'outside systemd the pinger stays idle');

  r = await app('enabled', { WATCHDOG_USEC: '200000' });
  assert.deepEqual(r.json.info, { enabled: true, usec: 200000 });

  r = await app('enabled', { WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' });
  assert.deepEqual(r.json.info, { enabled: false, usec: 0 }, 'pings are expected from pid 1, not from us');
  assert.equal(r.json.running, false);

  r = await app('enabled', { WATCHDOG_USEC: 'soon' });
  assert.equal(r.json.error.code, 'EINVAL');
  assert.equal(r.json.error.syscall, 'sd_watchdog_enabled');
  // startWatchdog() never throws for the environment: a warning, an
  // 'unsupported' skip carrying the error, and no pings.
  assert.equal(r.json.running, false);
  assert.deepEqual(r.json.lastSkip, { reason: 'unsupported', error: 'EINVAL' });
  assert.deepEqual(r.json.warnings, ['SD_ACTIVATE_WATCHDOG_MALFORMED_ENV']);

  // WATCHDOG_PID naming the process itself, set the way the manager does before exec.
  const out = await new Promise((resolve, reject) => {
    const env = { ...process.env, WATCHDOG_USEC: '3000000' };
    delete env.NOTIFY_SOCKET;
    const p = spawn('sh', ['-c', shExec('WATCHDOG_PID=$$'), process.execPath,
      path.join(FIXTURES, 'watchdog-app.js'), 'enabled'], { env: plainEnv(env) });
    let s = '';
    p.stdout.on('data', (d) => { s += d; });
    p.on('error', reject);
    p.on('close', () => resolve(JSON.parse(s.trim().split('\n').pop())));
  });
  assert.deepEqual(out.info, { enabled: true, usec: 3000000 });
});

test('pings at half of WATCHDOG_USEC, every ping reaches the manager from the app pid', async (t) => {
  const receiver = await startReceiver();
  try {
    const r = await app('cadence', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '200000' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    assert.equal(out.intervalMs, 100);
    assert.equal(out.maxLoopDelayMs, 100, 'default threshold: half the timeout');
    await textsUntilEnd(receiver, out.pid);
    assert.equal(pingsFrom(receiver, out.pid).length, out.pings, 'every ping event is a datagram received');
    assert.equal(out.counter, out.pings);
    // About 10 in one second; generous bounds against a loaded machine.
    assert.ok(out.pings >= 3 && out.pings <= 13, `${out.pings} pings in 1 s at a 100 ms interval`);
    assert.ok(out.spacing.median >= 60, `median spacing ${out.spacing.median} ms`);
    assert.equal(out.running, false, 'stopped');
    t.diagnostic(`cadence: ${out.pings} pings in 1000 ms, spacing median ${out.spacing.median.toFixed(1)} ms (min ${out.spacing.min.toFixed(1)}, max ${out.spacing.max.toFixed(1)}), skips ${out.skips.length}`);
  } finally {
    await receiver.close();
  }
});

test('starting twice returns the same watchdog and does not double the rate', async (t) => {
  const receiver = await startReceiver({ kind: 'abstract' });
  try {
    const r = await app('cadence', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '200000' }, { arg: 'twice' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    assert.equal(out.same, true);
    await textsUntilEnd(receiver, out.pid);
    assert.equal(pingsFrom(receiver, out.pid).length, out.pings);
    // Two timers would give ~20 pings with a median spacing near 0.
    assert.ok(out.pings <= 13, `${out.pings} pings in 1 s`);
    assert.ok(out.spacing.median >= 60, `median spacing ${out.spacing.median} ms`);
    t.diagnostic(`started 3x: ${out.pings} pings in 1000 ms, median spacing ${out.spacing.median.toFixed(1)} ms`);
  } finally {
    await receiver.close();
  }
});

test('the watchdog timer never keeps the process alive', async () => {
  const receiver = await startReceiver();
  try {
    const r = await app('unref', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '200000' }, { timeout: 10000 });
    assert.equal(r.signal, null, 'exited on its own, not killed by the test timeout');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json.pings >= 1, 'it was pinging');
    assert.equal(r.json.running, true, 'still started when the process exited');
    await receiver.next((m) => m.pid === r.json.pid && m.text === 'STATUS=only-the-watchdog-left');
  } finally {
    await receiver.close();
  }
});

test('no ping while the event loop is blocked; the first turn after it is skipped as loop-blocked', async (t) => {
  const receiver = await startReceiver();
  try {
    const r = await app('blocked', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '400000' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    const list = await textsUntilEnd(receiver, out.pid);
    assert.deepEqual(between(list, 'STATUS=block-start', 'STATUS=block-end'), []);
    assert.deepEqual(between(list, 'STATUS=block-end', 'STATUS=after-block-turn'), [],
      'no ping at the first turn after the block');
    assert.equal(out.afterBlock.event, 'skip');
    assert.equal(out.afterBlock.reason, 'loop-blocked');
    assert.ok(out.afterBlock.blockedMs >= 600, `measured blockage ${out.afterBlock.blockedMs} ms for a 700 ms block`);
    assert.equal(out.lastSkip.reason, 'loop-blocked');
    t.diagnostic(`700 ms busy loop measured as ${out.afterBlock.blockedMs.toFixed(1)} ms of blockage (threshold 100 ms)`);
    assert.ok(list.indexOf('WATCHDOG=1', list.indexOf('STATUS=after-block-turn')) > 0, 'pings resume');
  } finally {
    await receiver.close();
  }
});

test('a block between two turns (the timer is not late) is seen too, and skips the next ping', async (t) => {
  const receiver = await startReceiver();
  try {
    // Pings every 500 ms; a 300 ms block right after a ping ends before the next turn is due.
    const r = await app('blocked', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '1000000' }, { arg: '300' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    const list = await textsUntilEnd(receiver, out.pid);
    assert.deepEqual(between(list, 'STATUS=block-end', 'STATUS=after-block-turn'), []);
    assert.equal(out.afterBlock.event, 'skip');
    assert.equal(out.afterBlock.reason, 'loop-blocked');
    assert.ok(out.afterBlock.blockedMs >= 250, `measured blockage ${out.afterBlock.blockedMs} ms for a 300 ms block`);
    t.diagnostic(`300 ms busy loop between turns measured as ${out.afterBlock.blockedMs.toFixed(1)} ms (threshold 100 ms)`);
  } finally {
    await receiver.close();
  }
});

test('no ping while healthy() returns false or throws; the reason is observable; pings resume', async () => {
  const receiver = await startReceiver();
  try {
    const r = await app('unhealthy', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '200000' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    const list = await textsUntilEnd(receiver, out.pid);
    assert.deepEqual(between(list, 'STATUS=unhealthy', 'STATUS=healthy-again'), []);
    assert.deepEqual(between(list, 'STATUS=healthy-again', 'STATUS=throwing'), ['WATCHDOG=1']);
    assert.deepEqual(between(list, 'STATUS=throwing', 'STATUS=done'), ['WATCHDOG=1']);
    assert.deepEqual(out.skips.slice(0, 3).map((s) => s.reason), ['unhealthy', 'unhealthy', 'unhealthy']);
    assert.deepEqual(out.thrown, { reason: 'unhealthy', error: { name: 'Error', message: 'db gone' } });
  } finally {
    await receiver.close();
  }
});

test('stop() stops pinging; start() resumes', async () => {
  const receiver = await startReceiver();
  try {
    const r = await app('stop', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '200000' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    assert.equal(out.running, false);
    assert.equal(out.pingsAfterStop, 0);
    assert.equal(out.restarted, true);
    const list = await textsUntilEnd(receiver, out.pid);
    assert.deepEqual(between(list, 'STATUS=stopped', 'STATUS=restarting'), []);
    assert.deepEqual(between(list, 'STATUS=restarting', 'STATUS=end'), ['WATCHDOG=1']);
  } finally {
    await receiver.close();
  }
});

test('watchdogTimeout() at run time sends WATCHDOG_USEC= and the pinger follows', async () => {
  const receiver = await startReceiver();
  try {
    const r = await app('timeout', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '2000000' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json;
    assert.equal(out.before, 1000);
    assert.equal(out.sent, true);
    assert.equal(out.after, 100);
    assert.equal(out.usec, 200000);
    // At the old 1 s interval there would be no ping in 700 ms.
    assert.ok(out.pings >= 3, `${out.pings} pings in 700 ms after the change`);
    const list = await textsUntilEnd(receiver, out.pid);
    assert.equal(list[0], 'WATCHDOG=1');
    assert.equal(list[1], 'WATCHDOG_USEC=200000');
  } finally {
    await receiver.close();
  }
});

test('a failed ping (manager queue full) is a skip with the error, not a crash', async () => {
  const receiver = await startReceiver();
  try {
    await receiver.stall();
    const r = await app('send-failed', { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '200000' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.skip.reason, 'send-failed');
    assert.equal(r.json.skip.code, 'EAGAIN');
    assert.equal(r.json.lastSkip, 'send-failed');
  } finally {
    await receiver.close();
  }
});
