// SPDX-License-Identifier: MIT
'use strict';
// barrier(): BARRIER=1 with an fd the receiver closes once it has processed
// everything before it; resolves, times out with a coded error, never blocks
// the event loop, and never keeps the process from exiting.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startReceiver } = require('./helpers/receiver');
const { runChild } = require('./helpers/child');

async function evalChild(steps, env = {}, timeout = 20000, nodeArgs = []) {
  const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify(steps)], env, timeout, nodeArgs });
  assert.equal(r.signal, null, `child was killed: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  return r.json;
}

for (const kind of ['path', 'abstract']) {
  test(`barrier resolves once the receiver has processed the earlier messages (${kind})`, async () => {
    const receiver = await startReceiver({ kind });
    try {
      const out = await evalChild([
        "sd.status('before')", 'sd.barrier()', "sd.status('between')", 'sd.barrier(Infinity)',
      ], { NOTIFY_SOCKET: receiver.address });
      assert.deepEqual(out.results, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
      await receiver.next((m) => m.pid === out.pid && m.text === 'BARRIER=1' && receiver.messages.indexOf(m) === 3);
      const got = receiver.messages.filter((m) => m.pid === out.pid);
      assert.deepEqual(got.map((m) => m.text), ['STATUS=before', 'BARRIER=1', 'STATUS=between', 'BARRIER=1']);
      for (const m of [got[1], got[3]]) {
        assert.equal(m.fds.length, 1, 'exactly one fd with BARRIER=1');
        assert.equal(m.fds[0].mode, 'fifo', "a pipe's write end, as libsystemd's sd_notify_barrier sends");
      }
    } finally {
      await receiver.close();
    }
  });
}

test('under the zero-code preload (NOTIFY_SOCKET moved out of the environment) barrier still reaches the manager', async () => {
  const receiver = await startReceiver();
  try {
    const out = await evalChild(["sd.status('hidden')", 'sd.barrier()'], { NOTIFY_SOCKET: receiver.address }, 20000,
      ['--require', require.resolve('../dist/register.js')]);
    assert.equal(out.env.NOTIFY_SOCKET, null, 'the preload took NOTIFY_SOCKET out of the environment');
    assert.deepEqual(out.results, [{ ok: true }, { ok: true }]);
    const got = receiver.messages.filter((m) => m.pid === out.pid).map((m) => m.text);
    assert.deepEqual(got.slice(0, 2), ['STATUS=hidden', 'BARRIER=1']);
  } finally {
    await receiver.close();
  }
});

test('barrier times out with ERR_SD_BARRIER_TIMEOUT while the loop keeps turning, and the app still exits on its own', async () => {
  const receiver = await startReceiver();
  try {
    await receiver.holdBarrier();
    const out = await evalChild([
      '(ctx.ticks = 0, ctx.iv = setInterval(() => ctx.ticks++, 20), 0)',
      'sd.barrier(500)',
      '(clearInterval(ctx.iv), ctx.ticks)',
      "sd.status('after')",
    ], { NOTIFY_SOCKET: receiver.address, NOTIFY_EVAL_NO_EXIT: '1' }, 10000);
    const [, timedOut, ticks, after] = out.results;
    assert.equal(timedOut.error.code, 'ERR_SD_BARRIER_TIMEOUT');
    assert.equal(timedOut.error.name, 'SdActivateError');
    assert.match(timedOut.error.message, /BARRIER=1 within 500 ms/);
    assert.ok(ticks.ok >= 5, `a 20 ms interval kept firing while the barrier waited (${ticks.ok} ticks)`);
    assert.deepEqual(after, { ok: true });
    await receiver.next((m) => m.pid === out.pid && m.text === 'STATUS=after');
  } finally {
    await receiver.close();
  }
});

test('a pending barrier does not hold the process at exit', async () => {
  const receiver = await startReceiver();
  try {
    await receiver.holdBarrier();
    // With a 60 s barrier pending, exit must still be immediate (a worker
    // thread waiting in poll() would hold process.exit() for the whole timeout).
    const r = await runChild({
      script: 'notify-eval.js',
      args: [JSON.stringify(["(sd.barrier(60000).catch(() => {}), sleep(100).then(() => 'waited'))"])],
      env: { NOTIFY_SOCKET: receiver.address },
      timeout: 15000,
    });
    assert.equal(r.signal, null, 'the child exited by itself, it was not killed');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.results, [{ ok: 'waited' }]);
  } finally {
    await receiver.close();
  }
});
