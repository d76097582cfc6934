// SPDX-License-Identifier: MIT
'use strict';
// native.ReadableWatch, the one-shot wait the command's --lazy start uses:
// over real listening TCP and UDP sockets opened with the addon's openSocket,
// it reports the first fd with a pending connection or datagram without
// accepting or reading it and without changing the fd's flags (no
// O_NONBLOCK), delivers nothing after close(), and neither its thread nor a
// closed or collected watch keeps the process alive. Runs once per backend.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const native = require('./helpers/native');
const { openSocket, runChild } = require('./helpers/child');
const { slack } = require('./helpers/common');

const EVAL = path.join(__dirname, 'fixtures', 'native-eval.js');
const O_NONBLOCK = 0o4000;

/** The flags field of /proc/self/fdinfo/<fd>. */
function fdFlags(fd) {
  return parseInt(/^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1], 8);
}

/** A watch over `fds`: { calls, fired (resolves with the first fd), close }. */
function watch(fds) {
  const calls = [];
  let resolve;
  const fired = new Promise((r) => { resolve = r; });
  const w = new native.ReadableWatch(fds, (fd) => { calls.push(fd); resolve(fd); });
  return { calls, fired, close: () => w.close() };
}

/** Connect a client to 127.0.0.1:port; resolves once the kernel completed the handshake (the connection is queued). */
function connect(port) {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => resolve(c));
    c.on('error', reject);
  });
}

/** Whether `fd` is readable now: a second watch over it fires within `ms`. */
async function readableNow(fd, ms = slack(1000)) {
  const w = watch([fd]);
  const fired = await Promise.race([w.fired, sleep(ms).then(() => null)]);
  w.close();
  return fired === fd;
}

describe('ReadableWatch over listening and datagram sockets', () => {
  test('idle: no callback; a client connects: the fd once, and the connection is still queued for accept', async () => {
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const w = watch([tcp.fd]);
    await sleep(200);
    assert.deepEqual(w.calls, [], 'nothing while no client is pending');
    const client = await connect(tcp.port);
    assert.equal(await w.fired, tcp.fd);
    await sleep(100);
    assert.deepEqual(w.calls, [tcp.fd], 'one-shot: one call');
    w.close();
    w.close(); // idempotent, also after it fired
    assert.ok(await readableNow(tcp.fd), 'the connection was not accepted: the fd is still readable');
    // Accepting it now (Node adopts the listening fd) gets exactly that client.
    const server = net.createServer();
    const accepted = new Promise((resolve) => server.once('connection', resolve));
    server.listen({ fd: tcp.fd });
    const conn = await accepted;
    assert.equal(conn.remotePort, client.localPort);
    conn.destroy();
    client.destroy();
    await new Promise((resolve) => server.close(resolve)); // closes tcp.fd
  });

  test('two listening sockets: the one connected to is reported; both pending: the lower index', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const b = openSocket('tcp', '127.0.0.1', 0);
    const clients = [];
    try {
      const w = watch([a.fd, b.fd]);
      await sleep(100);
      clients.push(await connect(b.port));
      assert.equal(await w.fired, b.fd);
      w.close();
      clients.push(await connect(a.port));
      const both = watch([b.fd, a.fd]);
      assert.equal(await both.fired, b.fd, 'index 0 first');
      both.close();
      const swapped = watch([a.fd, b.fd]);
      assert.equal(await swapped.fired, a.fd, 'index 0 first, whatever the fd numbers');
      swapped.close();
    } finally {
      for (const c of clients) c.destroy();
      native.close(a.fd);
      native.close(b.fd);
    }
  });

  test('a datagram socket: reported when a datagram arrives, which stays unread', async () => {
    const udp = openSocket('udp', '127.0.0.1', 0);
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const sender = dgram.createSocket('udp4');
    try {
      const w = watch([tcp.fd, udp.fd]);
      await sleep(100);
      assert.deepEqual(w.calls, []);
      await new Promise((resolve, reject) => sender.send('x', udp.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      assert.equal(await w.fired, udp.fd);
      w.close();
      assert.ok(await readableNow(udp.fd), 'the datagram is still queued');
    } finally {
      sender.close();
      native.close(udp.fd);
      native.close(tcp.fd);
    }
  });

  test('the fds keep their flags: O_NONBLOCK stays clear while watched and after', async () => {
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const udp = openSocket('udp', '127.0.0.1', 0);
    const clients = [];
    try {
      const before = [tcp.fd, udp.fd].map(fdFlags);
      assert.deepEqual(before.map((f) => f & O_NONBLOCK), [0, 0], 'openSocket makes blocking sockets');
      const w = watch([udp.fd, tcp.fd]);
      await sleep(100);
      assert.deepEqual([tcp.fd, udp.fd].map(fdFlags), before, 'while watched');
      clients.push(await connect(tcp.port));
      assert.equal(await w.fired, tcp.fd);
      w.close();
      assert.deepEqual([tcp.fd, udp.fd].map(fdFlags), before, 'after it fired and closed');
    } finally {
      for (const c of clients) c.destroy();
      native.close(tcp.fd);
      native.close(udp.fd);
    }
  });

  test('an fd that is not open (POLLNVAL) is reported too: whoever uses it next meets the error', async () => {
    let fd = 1000;
    while (fs.existsSync(`/proc/self/fd/${fd}`)) fd++;
    const w = watch([fd]);
    assert.equal(await w.fired, fd);
    w.close();
  });
});

describe('ReadableWatch: stopping', () => {
  test('close() before anything arrives: no callback, and the process exits by itself', async () => {
    const r = await runChild({ script: EVAL, timeout: 10000, args: [`
      const tcp = native.openSocket('tcp', '127.0.0.1', 0, 16, -1);
      const calls = [];
      const w = new native.ReadableWatch([tcp], (fd) => calls.push(fd));
      const idle = new native.ReadableWatch([], (fd) => calls.push(fd)); // nothing to wait for but close()
      await new Promise((r) => setTimeout(r, 100));
      w.close();
      idle.close();
      w.close();
      const net = helpers.require('node:net');
      const client = net.connect(native.describeSocket(tcp).port, '127.0.0.1');
      await new Promise((r) => client.on('connect', r));
      await new Promise((r) => setTimeout(r, 200));
      client.destroy();
      return { calls };
    `] });
    assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal})`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.calls, [], 'nothing after close()');
  });

  test('close() drops a call the thread already queued', async () => {
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const client = await connect(tcp.port);
    try {
      const w = watch([tcp.fd]);
      // Block the event loop long enough for the thread to see the pending
      // connection and queue its call, then close before the loop runs it.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, slack(200));
      w.close();
      await sleep(200);
      assert.deepEqual(w.calls, []);
    } finally {
      client.destroy();
      native.close(tcp.fd);
    }
  });

  test('a watch dropped without close() stops when collected: the process exits by itself', async () => {
    const r = await runChild({ script: EVAL, timeout: 10000, nodeArgs: ['--expose-gc'], args: [`
      const tcp = native.openSocket('tcp', '127.0.0.1', 0, 16, -1);
      (() => { new native.ReadableWatch([tcp], () => {}); })();
      await new Promise((r) => setTimeout(r, 100));
      globalThis.gc();
      return 'dropped';
    `] });
    assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal})`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json, 'dropped');
  });

  test('no fd or thread growth over many watches, closed idle and fired', async () => {
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const client = await connect(tcp.port); // stays queued: every watch over tcp.fd fires
    const idle = openSocket('tcp', '127.0.0.1', 0);
    const count = () => ({
      fds: fs.readdirSync('/proc/self/fd').length,
      threads: Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]),
    });
    try {
      const before = count();
      for (let i = 0; i < 200; i++) watch([idle.fd]).close();
      for (let i = 0; i < 100; i++) {
        const w = watch([idle.fd, tcp.fd]);
        assert.equal(await w.fired, tcp.fd);
        w.close();
      }
      // No growth: an fd of the test runner's own may close meanwhile, never one more open.
      const after = count();
      assert.ok(after.fds <= before.fds && after.threads <= before.threads, `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
    } finally {
      client.destroy();
      native.close(tcp.fd);
      native.close(idle.fd);
    }
  });
});

describe('ReadableWatch: arguments', () => {
  test('anything but an array of at most 1024 fds >= 0 and a function is a TypeError naming the argument', () => {
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const fn = () => {};
    try {
      const bad = {
        none: [], string: ['3', fn], number: [3, fn], object: [{ length: 1, 0: 3 }, fn],
        negative: [[-1], fn], fraction: [[1.5], fn], stringFd: [['3'], fn], huge: [[2 ** 31], fn],
        tooMany: [new Array(1025).fill(tcp.fd), fn], noCallback: [[tcp.fd]], notFunction: [[tcp.fd], 'cb'],
      };
      for (const [k, args] of Object.entries(bad)) {
        assert.throws(() => new native.ReadableWatch(...args), (e) => {
          assert.equal(e.name, 'TypeError', k);
          const expected = k === 'noCallback' || k === 'notFunction' ? /onReadable/ : /argument 0|fds/;
          assert.match(e.message, expected, k);
          return true;
        }, k);
      }
      const onOpen = fs.readdirSync('/proc/self/fd').length;
      new native.ReadableWatch(new Array(1024).fill(tcp.fd), fn).close(); // the limit itself is fine
      assert.equal(fs.readdirSync('/proc/self/fd').length, onOpen, 'its wake pipe is closed');
    } finally {
      native.close(tcp.fd);
    }
  });
});
