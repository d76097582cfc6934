// SPDX-License-Identifier: MIT
'use strict';
// sd_notify helpers against a real receiver (python, SO_PASSCRED; path and
// abstract names), called from real child processes: the exact datagram of
// every helper, the sender's pid, the three-way result, validation before
// sending, NOTIFY_SOCKET kept or unset, and a receiver that stops reading.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startReceiver } = require('./helpers/receiver');
const { runChild, startChild } = require('./helpers/child');
const sd = require('../dist');

/** Run the steps (JS expressions) in a child; returns its JSON report. */
async function evalChild(steps, env = {}) {
  const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify(steps)], env });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.json, r.stdout + r.stderr);
  return r.json;
}

const fromPid = (receiver, pid) => receiver.messages.filter((m) => m.pid === pid);
const texts = (receiver, pid) => fromPid(receiver, pid).map((m) => m.text);

function pythonMonotonicUsec() {
  const r = spawnSync('/usr/bin/python3', ['-c',
    'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)'], { encoding: 'utf8' });
  return BigInt(r.stdout.trim());
}

for (const kind of ['path', 'abstract']) {
  test(`every helper sends its exact datagram, from the app's pid (${kind} receiver)`, async () => {
    const receiver = await startReceiver({ kind });
    try {
      const cases = [
        ['sd.ready()', 'READY=1'],
        ["sd.ready('Serving on :8080')", 'READY=1\nSTATUS=Serving on :8080'],
        ["sd.status('a = b : c')", 'STATUS=a = b : c'],
        ["sd.status('')", 'STATUS='],
        ["sd.status('ünïcödé ✓')", 'STATUS=ünïcödé ✓'],
        ['sd.stopping()', 'STOPPING=1'],
        ["sd.stopping('Draining')", 'STOPPING=1\nSTATUS=Draining'],
        ['sd.mainPid(4242)', 'MAINPID=4242'],
        ['sd.errno(5)', 'ERRNO=5'],
        ["sd.errno('ENOENT')", `ERRNO=${os.constants.errno.ENOENT}`],
        ['sd.extendTimeout(2500)', 'EXTEND_TIMEOUT_USEC=2500000'],
        ['sd.extendTimeout(0.0015)', 'EXTEND_TIMEOUT_USEC=2'],
        ['sd.watchdog()', 'WATCHDOG=1'],
        ['sd.watchdogTrigger()', 'WATCHDOG=trigger'],
        ['sd.watchdogTimeout(1500)', 'WATCHDOG_USEC=1500000'],
        ["sd.notify({ READY: 1, STATUS: 'x', CUSTOM_X: 42, BIG: 18446744073709551615n })",
          'READY=1\nSTATUS=x\nCUSTOM_X=42\nBIG=18446744073709551615'],
        ["sd.notify('RAW=1\\nOTHER=two')", 'RAW=1\nOTHER=two'],
        ['sd.notify({ ERRNO: 0 }, { pid: process.pid })', 'ERRNO=0'],
        ['sd.reloading()', /^RELOADING=1\nMONOTONIC_USEC=(\d+)$/],
        ["sd.reloading('Reloading')", /^RELOADING=1\nMONOTONIC_USEC=(\d+)\nSTATUS=Reloading$/],
        ["sd.status('end')", 'STATUS=end'],
      ];
      const before = pythonMonotonicUsec();
      const out = await evalChild(cases.map(([src]) => src), { NOTIFY_SOCKET: receiver.address, NOTIFY_EVAL_PACE: '1' });
      const after = pythonMonotonicUsec();
      assert.deepEqual(out.results, cases.map(() => ({ ok: true })));
      await receiver.next((m) => m.pid === out.pid && m.text === 'STATUS=end');
      const got = fromPid(receiver, out.pid).filter((m) => m.text !== 'BARRIER=1');
      assert.equal(got.length, cases.length, JSON.stringify(receiver.messages));
      assert.equal(receiver.messages.length, 2 * cases.length, 'every datagram came from the app itself');
      cases.forEach(([src, want], i) => {
        if (typeof want === 'string') {
          assert.equal(got[i].text, want, src);
        } else {
          const m = want.exec(got[i].text);
          assert.ok(m, `${src}: ${JSON.stringify(got[i].text)}`);
          // MONOTONIC_USEC is CLOCK_MONOTONIC, read independently by Python around the child.
          const usec = BigInt(m[1]);
          assert.ok(before <= usec && usec <= after, `${before} <= ${usec} <= ${after}`);
        }
        assert.deepEqual(got[i].fds, []);
      });
      assert.equal(out.env.NOTIFY_SOCKET, receiver.address, 'NOTIFY_SOCKET is kept by default');
    } finally {
      await receiver.close();
    }
  });
}

test('not supported without NOTIFY_SOCKET: every sender returns false and nothing throws', async () => {
  const steps = [
    'sd.ready()', "sd.ready('x')", "sd.status('x')", 'sd.stopping()', 'sd.reloading()', 'sd.mainPid(1)',
    'sd.errno(1)', 'sd.extendTimeout(1)', 'sd.watchdog()', 'sd.watchdogTrigger()', 'sd.watchdogTimeout(1)',
    "sd.notify({ A: 1 })", "sd.notify('A=1', { unsetEnvironment: true })", "sd.storeFds('x', 0)",
    "sd.removeFds('x')", 'sd.barrier(100)', 'sd.startWatchdog().running',
  ];
  const out = await evalChild(steps);
  assert.deepEqual(out.results, steps.map(() => ({ ok: false })));
  assert.equal(out.env.NOTIFY_SOCKET, null);
});

test('failures throw coded system errors (syscall sd_notify), and the sender follows NOTIFY_SOCKET changes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-notify-fail-'));
  const file = path.join(dir, 'not-a-socket');
  fs.writeFileSync(file, '');
  const receiver = await startReceiver();
  try {
    const set = (v) => `(process.env.NOTIFY_SOCKET = ${JSON.stringify(v)}, 0)`;
    const steps = [
      set(path.join(dir, 'missing', 'notify.sock')), 'sd.ready()',
      set(`@sd-activate-nobody-${process.pid}-${Date.now()}`), 'sd.ready()',
      set('relative/notify.sock'), 'sd.ready()',
      set('@'), 'sd.ready()',
      set(file), 'sd.ready()',
      set(`/${'x'.repeat(200)}`), 'sd.ready()',
      set(path.join(dir, 'missing', 'notify.sock')), 'sd.barrier(100)',
      "sd.storeFds('web', 0)",
      set(receiver.address), "sd.status('back')",
      set('relative'), "sd.notify({ A: 1 }, { unsetEnvironment: true })", 'process.env.NOTIFY_SOCKET === undefined',
    ];
    const out = await evalChild(steps);
    const errors = out.results.filter((r) => r.error).map((r) => r.error);
    assert.deepEqual(errors.map((e) => e.code),
      ['ENOENT', 'ECONNREFUSED', 'EINVAL', 'EINVAL', 'ECONNREFUSED', 'ENAMETOOLONG', 'ENOENT', 'ENOENT', 'EINVAL']);
    for (const e of errors) {
      assert.equal(e.syscall, 'sd_notify');
      assert.equal(e.errno, -os.constants.errno[e.code]);
      assert.match(e.message, /^sd_notify failed: E[A-Z]+ \(.*\): /);
    }
    assert.deepEqual(out.results.at(-1), { ok: true }, 'unsetEnvironment removes NOTIFY_SOCKET even when sending failed');
    assert.deepEqual(out.results.at(-4), { ok: true }, 'sent again once NOTIFY_SOCKET points at a receiver');
    await receiver.next((m) => m.pid === out.pid && m.text === 'STATUS=back');
  } finally {
    await receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('NOTIFY_SOCKET is kept for later calls; unsetEnvironment removes it after the call', async () => {
  const receiver = await startReceiver({ kind: 'abstract' });
  try {
    const out = await evalChild([
      'sd.ready()', "sd.status('again')", 'process.env.NOTIFY_SOCKET',
      "sd.notify({ STATUS: 'last' }, { unsetEnvironment: true })", "process.env.NOTIFY_SOCKET ?? 'unset'",
      "sd.status('lost')", 'sd.barrier(100)',
    ], { NOTIFY_SOCKET: receiver.address });
    assert.deepEqual(out.results, [
      { ok: true }, { ok: true }, { ok: receiver.address }, { ok: true }, { ok: 'unset' }, { ok: false }, { ok: false },
    ]);
    await receiver.next((m) => m.pid === out.pid && m.text === 'STATUS=last');
    assert.deepEqual(texts(receiver, out.pid), ['READY=1', 'STATUS=again', 'STATUS=last']);
  } finally {
    await receiver.close();
  }
});

test('values that would corrupt the protocol are refused before anything is sent', async () => {
  const receiver = await startReceiver();
  try {
    const bad = [
      "sd.status('two\\nlines')", "sd.ready('two\\nlines')", "sd.stopping('a\\nb')", "sd.reloading('a\\nb')",
      "sd.status('nul\\0')", 'sd.status(42)',
      "sd.notify({ 'A=B': 1 })", "sd.notify({ '': 1 })", "sd.notify({ 'A\\nB': 1 })", "sd.notify({ A: 'x\\ny' })",
      'sd.notify({ A: NaN })', 'sd.notify({ A: Infinity })', 'sd.notify({ A: {} })', 'sd.notify({ A: null })',
      'sd.notify({})', "sd.notify('')", "sd.notify('A=1\\0')", 'sd.notify(null)', 'sd.notify([1])',
      'sd.notify({ A: 1 }, { pid: -1 })', 'sd.notify({ A: 1 }, { pid: 1.5 })', "sd.notify({ A: 1 }, { pid: '1' })",
      'sd.notify({ A: 1 }, { fds: [-1] })', 'sd.notify({ A: 1 }, { fds: [1.5] })', 'sd.notify({ A: 1 }, { fds: 3 })',
      'sd.mainPid(0)', 'sd.mainPid(-1)', 'sd.mainPid(1.5)', "sd.mainPid('12')", 'sd.mainPid(2 ** 60)',
      'sd.errno(-1)', 'sd.errno(1.5)', "sd.errno('ENOPE')",
      'sd.extendTimeout(-1)', 'sd.extendTimeout(NaN)', 'sd.extendTimeout(Infinity)', "sd.extendTimeout('5')",
      'sd.watchdogTimeout(-5)', 'sd.barrier(-1)', 'sd.barrier(NaN)',
    ];
    const out = await evalChild([...bad, "sd.status('after')"], { NOTIFY_SOCKET: receiver.address });
    bad.forEach((src, i) => {
      const r = out.results[i];
      assert.ok(r.error, `${src} should throw, got ${JSON.stringify(r)}`);
      assert.equal(r.error.code, 'ERR_SD_INVALID_ARGUMENT', src);
      assert.equal(r.error.name, 'SdActivateError', src);
    });
    assert.deepEqual(out.results.at(-1), { ok: true });
    await receiver.next((m) => m.pid === out.pid && m.text === 'STATUS=after');
    assert.deepEqual(texts(receiver, out.pid), ['STATUS=after']);
  } finally {
    await receiver.close();
  }
});

test('validation errors carry clear messages (in-process, nothing sent)', () => {
  assert.throws(() => sd.status('a\nb'), { code: 'ERR_SD_INVALID_ARGUMENT', message: /newline/ });
  assert.throws(() => sd.notify({ 'A=B': 1 }), { code: 'ERR_SD_INVALID_ARGUMENT', message: /"A=B".*"="/ });
  assert.throws(() => sd.mainPid(1.5), { code: 'ERR_SD_INVALID_ARGUMENT', message: /pid must be an integer >= 1 \(got 1.5\)/ });
  assert.throws(() => sd.errno('ENOPE'), { code: 'ERR_SD_INVALID_ARGUMENT', message: /unknown errno name "ENOPE"/ });
  assert.throws(() => sd.extendTimeout(-1), { code: 'ERR_SD_INVALID_ARGUMENT', message: /milliseconds >= 0/ });
});

test('a receiver that stops reading: notify fails fast with EAGAIN and the event loop keeps turning', async (t) => {
  const receiver = await startReceiver();
  try {
    await receiver.stall();
    const child = startChild({ script: 'notify-stall.js', env: { NOTIFY_SOCKET: receiver.address }, timeout: 40000 });
    let buffered = '';
    const stalled = await new Promise((resolve, reject) => {
      child.proc.stdout.on('data', (d) => {
        buffered += d;
        const line = buffered.split('\n').find((l) => l.includes('"phase":"stalled"'));
        if (line) resolve(JSON.parse(line));
      });
      child.done.then((r) => reject(new Error(`child ended early: ${r.stdout} ${r.stderr}`)));
    });
    await receiver.resume();
    const done = await child.done;
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(done.json, { phase: 'done', recovered: true });

    assert.ok(stalled.filled >= 1, 'some datagrams fit in the queue before it filled');
    assert.equal(stalled.firstError.code, 'EAGAIN');
    assert.equal(stalled.firstError.syscall, 'sd_notify');
    assert.equal(stalled.firstError.errno, -os.constants.errno.EAGAIN);
    assert.deepEqual(stalled.codes, { EAGAIN: 10000 }, 'every call while stalled failed at once');
    assert.equal(stalled.barrier.code, 'EAGAIN', 'barrier rejects at once too');
    // Generous bound: a blocking send would never return at all.
    assert.ok(stalled.maxLagMs < 1000, `event-loop delay ${stalled.maxLagMs} ms`);
    t.diagnostic(`stalled receiver: ${stalled.filled} datagrams queued, ${stalled.usPerFailedCall.toFixed(2)} us per EAGAIN call, max loop delay ${stalled.maxLagMs.toFixed(1)} ms over ${stalled.calls} calls`);

    await receiver.next((m) => m.pid === stalled.pid && m.text === 'STATUS=recovered');
    const got = texts(receiver, stalled.pid);
    assert.deepEqual(got.slice(0, stalled.filled), Array.from({ length: stalled.filled }, (_, i) => `STATUS=fill ${i}`));
    assert.equal(got.at(-1), 'STATUS=recovered');
  } finally {
    await receiver.close();
  }
});
