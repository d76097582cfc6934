// SPDX-License-Identifier: MIT
'use strict';
// native.notify (the non-blocking persistent sender, and its explicit
// address), native.NotifyReceiver, and from the test addon notifyAsync (the
// backend's own blocking sd_pid_notify_with_fds: real libsystemd on the
// libsystemd backend) and barrier, against a real receiver
// (test/helpers/notify-receiver.py: AF_UNIX datagram socket with SO_PASSCRED,
// not sd-activate's code). Runs once per backend.
const { test, describe, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const native = require('./helpers/native');
const testAddon = require('./helpers/test-addon');
const { startReceiver, nativeReceiver } = require('./helpers/receiver');
const { runChild } = require('./helpers/child');

const EVAL = path.join(__dirname, 'fixtures', 'native-eval.js');
const errno = (name) => -os.constants.errno[name];
const name = (r) => (r < 0 ? util.getSystemErrorName(r) : r);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-notify-native-'));
after(() => {
  delete process.env.NOTIFY_SOCKET;
  native.notify(0, '', []); // drop the persistent socket
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Run fn with NOTIFY_SOCKET set to value (undefined: unset), then restore it. */
async function withSocket(value, fn) {
  const saved = process.env.NOTIFY_SOCKET;
  if (value === undefined) delete process.env.NOTIFY_SOCKET; else process.env.NOTIFY_SOCKET = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.NOTIFY_SOCKET; else process.env.NOTIFY_SOCKET = saved;
  }
}

let token = 0;
const unique = (prefix) => `${prefix}-${process.pid}-${++token}`;

describe('NOTIFY_SOCKET unset', () => {
  test('notify, notifyAsync and barrier return 0 (not sent)', async () => {
    await withSocket(undefined, async () => {
      assert.equal(native.notify(0, 'READY=1', []), 0);
      assert.equal(await testAddon.notifyAsync(0, 'READY=1', []), 0);
      assert.equal(await testAddon.barrier(1000000), 0);
      // Not even fds are looked at when there is nowhere to send them.
      assert.equal(native.notify(0, 'FDSTORE=1', [-1]), 0);
      assert.equal(await testAddon.notifyAsync(0, 'FDSTORE=1', [-1]), 0);
    });
  });
});

describe('delivery to a real receiver', () => {
  for (const kind of ['path', 'abstract']) {
    test(`${kind} socket: exact datagram text, our pid from SO_PASSCRED, both senders`, async () => {
      const rx = await startReceiver({ kind });
      try {
        if (kind === 'abstract') assert.match(rx.address, /^@/); else assert.ok(path.isAbsolute(rx.address));
        await withSocket(rx.address, async () => {
          const texts = [`READY=1\nSTATUS=${unique('fast')}`, `STATUS=héllo ✓ ${unique('utf8')}\nMAINPID=${process.pid}`];
          for (const text of texts) assert.equal(native.notify(0, text, []), 1);
          // notifyState(text) is notify(0, text, []): short texts on the stack, long ones (> 1 KiB) not.
          const viaState = [`STATUS=${unique('state')} ✓`, `STATUS=${'x'.repeat(1023)}${unique('edge')}`, `STATUS=${'é'.repeat(3000)}${unique('long')}`];
          for (const text of viaState) assert.equal(native.notifyState(text), 1);
          texts.push(...viaState);
          const slow = `STATUS=${unique('async')}`;
          assert.equal(await testAddon.notifyAsync(0, slow, []), 1);
          for (const text of [...texts, slow]) {
            const m = await rx.next((x) => x.text === text);
            assert.equal(m.pid, process.pid);
            assert.deepEqual(m.fds, []);
          }
          // An empty state is one empty datagram.
          const before = rx.messages.length;
          assert.equal(native.notify(0, '', []), 1);
          const m = await rx.next((x, i = rx.messages.indexOf(x)) => i >= before && x.text === '');
          assert.equal(m.pid, process.pid);
        });
      } finally {
        await rx.close();
      }
    });
  }

  test('fds passed with SCM_RIGHTS arrive as the same sockets (notify and notifyAsync); ours stay open', async () => {
    const rx = await startReceiver();
    const tcp = native.openSocket('tcp', '127.0.0.1', 0, 8, -1);
    const sockPath = path.join(tmp, 'passed.sock');
    const unix = native.openSocket('unix', sockPath, 0, 8, -1);
    const port = native.describeSocket(tcp).port;
    try {
      await withSocket(rx.address, async () => {
        const a = `FDSTORE=1\nFDNAME=${unique('web')}`;
        const b = `FDSTORE=1\nFDNAME=${unique('ctl')}`;
        assert.equal(native.notify(0, a, [tcp, unix]), 1);
        assert.equal(await testAddon.notifyAsync(0, b, [unix]), 1);
        const ma = await rx.next((m) => m.text === a);
        assert.equal(ma.pid, process.pid);
        assert.equal(ma.fds.length, 2);
        assert.deepEqual([ma.fds[0].mode, ma.fds[0].family, ma.fds[0].type, ma.fds[0].listening, ma.fds[0].name],
          ['socket', 2, 1, true, ['127.0.0.1', port]]);
        assert.deepEqual([ma.fds[1].mode, ma.fds[1].family, ma.fds[1].listening, ma.fds[1].name], ['socket', 1, true, sockPath]);
        const mb = await rx.next((m) => m.text === b);
        assert.deepEqual(mb.fds.map((f) => f.name), [sockPath]);
        assert.equal(native.describeSocket(tcp).port, port, 'the sender still has its fd');
        // A closed fd is EBADF, from both senders alike.
        assert.equal(native.notify(0, 'FDSTORE=1', [9999]), errno('EBADF'));
        assert.equal(await testAddon.notifyAsync(0, 'FDSTORE=1', [9999]), errno('EBADF'));
        assert.equal(native.notify(0, 'FDSTORE=1', [-1]), errno('EBADF'));
        // More than SCM_MAX_FD (253) fds: the kernel's EINVAL, from both.
        assert.equal(native.notify(0, 'FDSTORE=1', new Array(254).fill(tcp)), errno('EINVAL'));
        assert.equal(await testAddon.notifyAsync(0, 'FDSTORE=1', new Array(254).fill(tcp)), errno('EINVAL'));
      });
    } finally {
      native.close(tcp);
      native.close(unix);
      await rx.close();
    }
  });

  test('a child\'s notify carries the child\'s pid', async () => {
    const rx = await startReceiver();
    try {
      const text = `READY=1\nSTATUS=${unique('child')}`;
      const r = await runChild({ script: EVAL, args: [`return native.notify(0, ${JSON.stringify(text)}, []);`],
        env: { NOTIFY_SOCKET: rx.address } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json, 1);
      const m = await rx.next((x) => x.text === text);
      assert.equal(m.pid, r.pid);
      assert.notEqual(m.pid, process.pid);
    } finally {
      await rx.close();
    }
  });

  test('notify with another pid: SCM_CREDENTIALS of that pid; a pid that does not exist falls back to ours', async (t) => {
    const rx = await startReceiver();
    try {
      await withSocket(rx.address, async () => {
        if (process.getuid() === 0) {
          const a = unique('pid1-fast');
          const b = unique('pid1-async');
          assert.equal(native.notify(1, a, []), 1);
          assert.equal(await testAddon.notifyAsync(1, b, []), 1);
          assert.equal((await rx.next((m) => m.text === a)).pid, 1);
          assert.equal((await rx.next((m) => m.text === b)).pid, 1);
        } else {
          t.diagnostic('not root: sending another pid\'s credentials is refused, only the fallback is checked');
        }
        // pid_max is at most 2^22, so this pid cannot exist: the kernel refuses
        // the credentials (ESRCH) and libsystemd sends again with its own.
        for (const pid of [2147483647, -1]) {
          const a = unique(`nopid-fast-${pid}`);
          const b = unique(`nopid-async-${pid}`);
          assert.equal(native.notify(pid, a, []), 1);
          assert.equal(await testAddon.notifyAsync(pid, b, []), 1);
          assert.equal((await rx.next((m) => m.text === a)).pid, process.pid);
          assert.equal((await rx.next((m) => m.text === b)).pid, process.pid);
        }
        // Our own pid given explicitly is the same as 0.
        const c = unique('ownpid');
        assert.equal(native.notify(process.pid, c, []), 1);
        assert.equal((await rx.next((m) => m.text === c)).pid, process.pid);
      });
    } finally {
      await rx.close();
    }
  });

  test('large messages fit as with libsystemd (its 8 MiB send buffer); too large is ENOBUFS or EMSGSIZE from both', async () => {
    const rx = await startReceiver();
    try {
      await withSocket(rx.address, async () => {
        const big = `STATUS=${unique('big')}${'x'.repeat(300000)}`;
        assert.equal(native.notify(0, big, []), 1);
        assert.equal(await testAddon.notifyAsync(0, big, []), 1);
        const m = await rx.next((x) => x.text.startsWith(big.slice(0, 40)));
        assert.equal(m.text, big.slice(0, 65536), 'the receiver reads 64 KiB of it');
        const huge = 'x'.repeat(20 * 1024 * 1024);
        const fast = native.notify(0, huge, []);
        const slow = await testAddon.notifyAsync(0, huge, []);
        assert.equal(fast, slow);
        assert.ok([errno('ENOBUFS'), errno('EMSGSIZE')].includes(fast), name(fast));
      });
    } finally {
      await rx.close();
    }
  });
});

/**
 * Addresses that cannot be sent to, with the libsystemd 252 error for each as
 * NOTIFY_SOCKET; `stream` names a unix stream socket (fixture made below).
 */
function badAddresses(stream) {
  return [
    ['relative/notify', 'EINVAL'],
    ['notify', 'EINVAL'],
    ['', 'EINVAL'],
    ['@', 'EINVAL'],
    ['/', 'EINVAL'],
    [' /run/notify', 'EINVAL'],
    [`/${'a'.repeat(106)}`, 'ENOENT'], // 107 bytes + NUL fit
    [`/${'a'.repeat(107)}`, 'ENAMETOOLONG'],
    [`/${'a'.repeat(300)}`, 'ENAMETOOLONG'],
    [`@${'a'.repeat(106)}`, 'ECONNREFUSED'],
    [`@${'a'.repeat(107)}`, 'EINVAL'],
    [path.join(tmp, 'missing.sock'), 'ENOENT'],
    [path.join(tmp, 'no-dir', 'x.sock'), 'ENOENT'],
    ['/dev/null', 'ECONNREFUSED'],
    [tmp, 'ECONNREFUSED'],
    ['/dev/null/x', 'ENOTDIR'],
    [`@${unique('sdact-nobody')}`, 'ECONNREFUSED'],
    [stream, 'EPROTOTYPE'], // a stream socket does not take datagrams
  ];
}

const label = (value) => JSON.stringify(value.length > 40 ? `${value.slice(0, 20)}...(${value.length})` : value);

describe('bad NOTIFY_SOCKET values: the libsystemd 252 error from both senders', () => {
  test('relative, too long, "@" or "/" alone, missing, not a socket, wrong socket type', async () => {
    const stream = path.join(tmp, 'stream.sock');
    const streamFd = native.openSocket('unix', stream, 0, 8, -1);
    try {
      for (const [value, code] of badAddresses(stream)) {
        await withSocket(value, async () => {
          const fast = native.notify(0, 'READY=1', []);
          const slow = await testAddon.notifyAsync(0, 'READY=1', []);
          assert.equal(name(slow), code, `NOTIFY_SOCKET=${label(value)}: the backend's own notify`);
          assert.equal(name(fast), code, `NOTIFY_SOCKET=${label(value)}: notify`);
          assert.equal(name(await testAddon.barrier(100000)), code, `NOTIFY_SOCKET=${label(value)}: barrier`);
        });
      }
    } finally {
      native.close(streamFd);
    }
  });
});

describe('notify to an explicit address', () => {
  for (const kind of ['path', 'abstract']) {
    test(`${kind}: the datagram goes there, whether NOTIFY_SOCKET is unset or names another receiver`, async () => {
      const rx = await startReceiver({ kind });
      const other = await startReceiver();
      const tcp = native.openSocket('tcp', '127.0.0.1', 0, 8, -1);
      try {
        const a = `STATUS=${unique('explicit-unset')}`;
        await withSocket(undefined, () => {
          assert.equal(native.notify(0, a, [], rx.address), 1, 'sent, not "nowhere to send"');
          assert.equal(process.env.NOTIFY_SOCKET, undefined, 'the environment is not touched');
        });
        const b = `STATUS=${unique('explicit-elsewhere')}`;
        const c = `FDSTORE=1\nFDNAME=${unique('explicit-fd')}`;
        const d = `STATUS=${unique('env')}`;
        await withSocket(other.address, async () => {
          assert.equal(native.notify(0, d, []), 1); // the persistent socket to NOTIFY_SOCKET, connected first
          assert.equal(native.notify(0, b, [], rx.address), 1);
          assert.equal(native.notify(2147483647, c, [tcp], rx.address), 1);
          assert.equal(process.env.NOTIFY_SOCKET, other.address);
          // undefined and null mean NOTIFY_SOCKET, over the same persistent socket as before.
          for (const none of [undefined, null]) assert.equal(native.notify(0, `${d}-${none}`, [], none), 1);
        });
        for (const text of [a, b]) assert.equal((await rx.next((m) => m.text === text)).pid, process.pid);
        const mc = await rx.next((m) => m.text === c);
        assert.equal(mc.pid, process.pid, 'a pid that does not exist falls back to ours, as on NOTIFY_SOCKET');
        assert.deepEqual([mc.fds.length, mc.fds[0].mode, mc.fds[0].listening], [1, 'socket', true]);
        for (const text of [d, `${d}-undefined`, `${d}-null`]) await other.next((m) => m.text === text);
        assert.ok(!other.messages.some((m) => [a, b, c].includes(m.text)), 'nothing explicit reached NOTIFY_SOCKET');
        assert.ok(!rx.messages.some((m) => m.text.startsWith(d)), 'nothing for NOTIFY_SOCKET reached the explicit address');
      } finally {
        native.close(tcp);
        await rx.close();
        await other.close();
      }
    });
  }

  test('bad addresses: the error the same text gives as NOTIFY_SOCKET, with NOTIFY_SOCKET unset or valid', async () => {
    const rx = await startReceiver();
    const stream = path.join(tmp, 'stream-explicit.sock');
    const streamFd = native.openSocket('unix', stream, 0, 8, -1);
    try {
      const cases = [...badAddresses(stream), ['/run/a\0b', 'EINVAL'], ['@a\0b', 'EINVAL']];
      for (const env of [undefined, rx.address]) {
        await withSocket(env, () => {
          for (const [value, code] of cases) {
            assert.equal(name(native.notify(0, 'READY=1', [], value)), code, `address ${label(value)}, NOTIFY_SOCKET=${env}`);
          }
        });
      }
      assert.ok(!rx.messages.some((m) => m.text === 'READY=1'), 'a failed explicit send never falls back to NOTIFY_SOCKET');
      // An fd that is not open: EBADF, as on NOTIFY_SOCKET.
      assert.equal(name(native.notify(0, 'FDSTORE=1', [9999], rx.address)), 'EBADF');
    } finally {
      native.close(streamFd);
      await rx.close();
    }
  });

  test('a receiver that stops reading: EAGAIN at once, never a blocked event loop', async () => {
    const rx = await startReceiver({ kind: 'abstract' });
    try {
      await rx.stall();
      let queued = 0;
      let r;
      const t0 = performance.now();
      while ((r = native.notify(0, `STATUS=fill ${queued}`, [], rx.address)) === 1) {
        queued++;
        assert.ok(queued < 100000, 'the queue never filled');
      }
      assert.equal(name(r), 'EAGAIN');
      for (let i = 0; i < 1000; i++) assert.equal(name(native.notify(0, 'STATUS=more', [], rx.address)), 'EAGAIN');
      assert.ok(performance.now() - t0 < 5000, 'no call waited for the receiver');
      await rx.resume();
      const after = `STATUS=${unique('explicit-resumed')}`;
      assert.equal(native.notify(0, after, [], rx.address), 1);
      await rx.next((m) => m.text === after);
    } finally {
      await rx.close();
    }
  });
});

describe('a receiver that stops reading', () => {
  test('notify fails at once with EAGAIN and the event loop keeps turning; the blocking sender waits', async (t) => {
    const rx = await startReceiver();
    try {
      await withSocket(rx.address, async () => {
        await rx.stall();
        let queued = 0;
        let r;
        while ((r = native.notify(0, `STATUS=fill ${queued}`, [])) === 1) {
          queued++;
          assert.ok(queued < 100000, 'the queue never filled');
        }
        assert.equal(name(r), 'EAGAIN');

        // Thousands more notifies, in bursts between turns of the event loop,
        // while a timer and the loop-delay monitor watch the loop.
        const histogram = monitorEventLoopDelay({ resolution: 10 });
        histogram.enable();
        let ticks = 0;
        const timer = setInterval(() => { ticks++; }, 5);
        const total = 20000;
        const burst = 500;
        let eagain = 0;
        let busy = 0;
        for (let sent = 0; sent < total; sent += burst) {
          const t0 = performance.now();
          for (let i = 0; i < burst; i++) if (native.notify(0, `STATUS=stalled ${sent + i}`, []) === errno('EAGAIN')) eagain++;
          busy += performance.now() - t0;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        clearInterval(timer);
        histogram.disable();
        const maxLagMs = histogram.max / 1e6;
        assert.equal(eagain, total, 'every notify into the full queue is EAGAIN');
        assert.ok(ticks > 0, 'timers ran during the bursts');
        assert.ok(maxLagMs < 1000, `event loop delay ${maxLagMs} ms`);
        t.diagnostic(`queue took ${queued} datagrams; ${total} notifies into the stalled receiver: ` +
          `${Math.round(total / (busy / 1000))} calls/s, max event-loop delay ${maxLagMs.toFixed(1)} ms, ${ticks} timer ticks`);

        // Once full, a poll answers for small texts without fds; a send the
        // kernel refuses for another reason first still says so, and the
        // failure knows where it went without the environment.
        assert.equal(name(native.notify(0, 'FDSTORE=1', [0x7ffffff0])), 'EBADF');
        assert.equal(name(native.notifyState('STATUS=still full')), 'EAGAIN');
        assert.equal(native.notifyAddress(), rx.address);

        // barrier: BARRIER=1 cannot be queued either: EAGAIN at once.
        assert.equal(name(await testAddon.barrier(5000000)), 'EAGAIN');

        // The backend's own (blocking) notify waits on its worker thread
        // until the receiver reads again; the main thread is free meanwhile.
        const text = `STATUS=${unique('blocked')}`;
        let settled = false;
        const pending = testAddon.notifyAsync(0, text, []).then((v) => { settled = true; return v; });
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(settled, false, 'a blocking send cannot complete while the queue is full');
        await rx.resume();
        assert.equal(await pending, 1);
        await rx.next((m) => m.text === text);
        // The queue drained: the first send after the EAGAINs goes out.
        const after = `STATUS=${unique('resumed')}`;
        assert.equal(native.notify(0, after, []), 1);
        assert.equal((await rx.next((m) => m.text === after)).pid, process.pid);
      });
    } finally {
      await rx.close();
    }
  });
});

describe('the persistent sender follows the receiver', () => {
  test('receiver gone and a new one bound at the same path: the next notify reaches the new one', async () => {
    const rx = await startReceiver();
    const address = rx.address;
    await withSocket(address, async () => {
      const a = unique('first');
      assert.equal(native.notify(0, a, []), 1);
      await rx.next((m) => m.text === a);
      await rx.close(); // closes the socket and unlinks the path
      fs.mkdirSync(path.dirname(address), { recursive: true });
      // Nobody there: the same error as libsystemd's fresh socket gets.
      const gone = native.notify(0, 'X=1', []);
      assert.equal(name(gone), 'ENOENT');
      assert.equal(await testAddon.notifyAsync(0, 'X=1', []), gone);
      const second = nativeReceiver(address);
      try {
        const b = unique('second');
        assert.equal(native.notify(0, b, []), 1);
        assert.equal((await second.next((m) => m.text === b)).pid, process.pid);
        // Closed but its file left behind: ECONNREFUSED, as libsystemd says.
        second.close();
        const refused = native.notify(0, 'X=1', []);
        assert.equal(name(refused), 'ECONNREFUSED');
        assert.equal(await testAddon.notifyAsync(0, 'X=1', []), refused);
        fs.unlinkSync(address);
        const third = nativeReceiver(address);
        try {
          const c = unique('third');
          assert.equal(native.notify(0, c, []), 1);
          await third.next((m) => m.text === c);
        } finally {
          third.close();
        }
      } finally {
        second.close();
        fs.rmSync(path.dirname(address), { recursive: true, force: true });
      }
    });
  });

  test('abstract receiver replaced under the same name: delivered to the new one', async () => {
    const address = `@${unique('sdact-abstract')}`;
    await withSocket(address, async () => {
      const first = nativeReceiver(address);
      const a = unique('a');
      assert.equal(native.notify(0, a, []), 1);
      await first.next((m) => m.text === a);
      first.close();
      assert.equal(name(native.notify(0, 'X=1', [])), 'ECONNREFUSED');
      const second = nativeReceiver(address);
      try {
        const b = unique('b');
        assert.equal(native.notify(0, b, []), 1);
        await second.next((m) => m.text === b);
      } finally {
        second.close();
      }
    });
  });

  test('NOTIFY_SOCKET changed to another receiver: the next notify goes there, not to the first', async () => {
    const one = await startReceiver();
    const two = await startReceiver({ kind: 'abstract' });
    try {
      const a = unique('to-one');
      const b = unique('to-two');
      await withSocket(one.address, async () => { assert.equal(native.notify(0, a, []), 1); });
      await withSocket(two.address, async () => { assert.equal(native.notify(0, b, []), 1); });
      await one.next((m) => m.text === a);
      await two.next((m) => m.text === b);
      const c = unique('back-to-one');
      await withSocket(one.address, async () => { assert.equal(native.notify(0, c, []), 1); });
      await one.next((m) => m.text === c);
      assert.ok(!one.messages.some((m) => m.text === b));
      assert.ok(!two.messages.some((m) => m.text === a || m.text === c));
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('barrier', () => {
  test('1 when the receiver confirms, -ETIMEDOUT when it holds the fd, 0 when NOTIFY_SOCKET is unset', async () => {
    assert.equal(await withSocket(undefined, () => testAddon.barrier(1000000)), 0);
    const rx = await startReceiver();
    try {
      await withSocket(rx.address, async () => {
        assert.equal(await testAddon.barrier(10000000), 1);
        assert.equal(await testAddon.barrier(-1), 1, 'no timeout');
        const m = await rx.next((x) => x.text === 'BARRIER=1');
        assert.deepEqual(m.fds.map((f) => f.mode), ['fifo'], 'one pipe end with it');
        assert.equal(m.pid, process.pid);
        await rx.holdBarrier();
        const t0 = performance.now();
        assert.equal(name(await testAddon.barrier(200000)), 'ETIMEDOUT');
        assert.ok(performance.now() - t0 >= 150, 'waited about the timeout');
        assert.equal(name(await testAddon.barrier(0)), 'ETIMEDOUT');
      });
    } finally {
      await rx.close();
    }
  });
});

describe('NotifyReceiver', () => {
  test('receives text, pid and fds; reports bind errors with errno and syscall; close is idempotent', async () => {
    const address = path.join(tmp, 'native-receiver.sock');
    const rx = nativeReceiver(address);
    try {
      assert.ok(rx.receiver.fd > 2);
      await withSocket(address, async () => {
        const tcp = native.openSocket('tcp', '127.0.0.1', 0, 1, -1);
        try {
          const text = `FDSTORE=1\n${unique('nr')}`;
          assert.equal(native.notify(0, text, [tcp]), 1);
          const m = await rx.next((x) => x.text === text);
          assert.deepEqual([m.pid, m.fds.length], [process.pid, 1]);
        } finally {
          native.close(tcp);
        }
      });
      assert.throws(() => new native.NotifyReceiver(address, () => {}), (e) => e.errno === errno('EADDRINUSE') && e.syscall === 'bind');
      assert.throws(() => new native.NotifyReceiver(path.join(tmp, 'nope', 'x'), () => {}), (e) => e.errno === errno('ENOENT'));
      assert.throws(() => new native.NotifyReceiver('', () => {}), (e) => e.errno === errno('EINVAL'));
    } finally {
      rx.close();
      rx.close();
    }
    assert.equal(rx.receiver.fd, -1);
    await withSocket(address, async () => { assert.equal(name(native.notify(0, 'X=1', [])), 'ECONNREFUSED'); });
  });
});
