// SPDX-License-Identifier: MIT
'use strict';
// The fd store: FDSTORE=1 / FDNAME= / FDPOLL=0 / FDSTOREREMOVE=1 datagrams with
// usable fds from Node servers and sockets, name validation, and the restart
// recipe end to end: a first run self-binds and stores its listener, it is
// stopped, a connection made meanwhile waits in the backlog, and a second run
// inherits the stored socket (LISTEN_FDS/LISTEN_FDNAMES), adopts it and serves.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startReceiver, nativeReceiver } = require('./helpers/receiver');
const { freePort, runChild, startChild } = require('./helpers/child');
const native = require('./helpers/native');

const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

test('storeFds / removeFds send the exact datagrams with usable fds from Node servers and sockets', async () => {
  const receiver = await startReceiver({ kind: 'abstract' });
  try {
    const long = 'x'.repeat(255);
    const steps = [
      "new Promise((r) => { ctx.tcp = net.createServer().listen(0, '127.0.0.1', () => r(ctx.tcp.address().port)); })",
      "sd.storeFds('web', ctx.tcp)",
      "new Promise((r) => { ctx.udp = dgram.createSocket('udp4'); ctx.udp.bind(0, '127.0.0.1', () => r(ctx.udp.address().port)); })",
      "sd.storeFds('dns', ctx.udp, { poll: false })",
      "new Promise((r) => { ctx.unix = net.createServer().listen('\\0sdact-fdstore-' + process.pid, () => r(0)); })",
      "sd.storeFds('admin', [sd.socketFd(ctx.unix), sd.socketFd(ctx.tcp)])",
      "new Promise((r) => { ctx.c = net.connect(ctx.tcp.address().port, '127.0.0.1', () => r(0)); })",
      "sd.storeFds('conn', ctx.c, { poll: false })",
      "sd.removeFds('web')",
      `sd.storeFds(${JSON.stringify(long)}, ctx.tcp)`,
      "sd.storeFds('name with spaces & symbols!', sd.socketFd(ctx.tcp))",
      "sd.status('end')",
    ];
    const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify(steps)],
      env: { NOTIFY_SOCKET: receiver.address, NOTIFY_EVAL_PACE: '1' } });
    assert.equal(r.code, 0, r.stderr);
    const { pid, results } = r.json;
    const [tcpPort, , udpPort] = results.map((x) => x.ok);
    assert.deepEqual(results.filter((_, i) => ![0, 2, 4, 6].includes(i)), Array(8).fill({ ok: true }));
    await receiver.next((m) => m.pid === pid && m.text === 'STATUS=end');
    const got = receiver.messages.filter((m) => m.pid === pid && m.text !== 'BARRIER=1');
    assert.deepEqual(got.map((m) => m.text), [
      'FDSTORE=1\nFDNAME=web',
      'FDSTORE=1\nFDNAME=dns\nFDPOLL=0',
      'FDSTORE=1\nFDNAME=admin',
      'FDSTORE=1\nFDNAME=conn\nFDPOLL=0',
      'FDSTOREREMOVE=1\nFDNAME=web',
      `FDSTORE=1\nFDNAME=${long}`,
      'FDSTORE=1\nFDNAME=name with spaces & symbols!',
      'STATUS=end',
    ]);
    // Node 20 (libuv) binds abstract names NUL-padded to the full sun_path: strip the padding.
    const info = (m) => m.fds.map(({ family, type, listening, name }) =>
      ({ family, type, listening, name: typeof name === 'string' ? name.replace(/(?<=.)\0+$/, '') : name }));
    const tcp = { family: AF_INET, type: SOCK_STREAM, listening: true, name: ['127.0.0.1', tcpPort] };
    assert.deepEqual(info(got[0]), [tcp]);
    assert.deepEqual(info(got[1]), [{ family: AF_INET, type: SOCK_DGRAM, listening: false, name: ['127.0.0.1', udpPort] }]);
    assert.deepEqual(info(got[2]), [{ family: AF_UNIX, type: SOCK_STREAM, listening: true, name: `\0sdact-fdstore-${pid}` }, tcp]);
    assert.equal(got[3].fds.length, 1);
    assert.equal(got[3].fds[0].listening, false, 'a connected socket');
    assert.equal(got[3].fds[0].family, AF_INET);
    assert.deepEqual(got[4].fds, []);
    assert.deepEqual(info(got[5]), [tcp]);
  } finally {
    await receiver.close();
  }
});

test('fd names and targets are checked before sending', async () => {
  const receiver = await startReceiver();
  try {
    const bad = [
      "sd.storeFds('a:b', 0)", "sd.storeFds('', 0)", `sd.storeFds(${JSON.stringify('x'.repeat(256))}, 0)`,
      "sd.storeFds('tab\\there', 0)", "sd.storeFds('é', 0)", 'sd.storeFds(undefined, 0)',
      "sd.storeFds('ok', [])", "sd.storeFds('ok', -1)", "sd.storeFds('ok', 1.5)", "sd.storeFds('ok', null)",
      "sd.storeFds('ok', new net.Server())", "sd.storeFds('ok', dgram.createSocket('udp4'))",
      'sd.socketFd(new net.Socket())', "sd.removeFds('a:b')", "sd.removeFds('')",
    ];
    const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify([...bad, "sd.status('after')"])],
      env: { NOTIFY_SOCKET: receiver.address } });
    assert.equal(r.code, 0, r.stderr);
    bad.forEach((src, i) => {
      assert.equal(r.json.results[i].error?.code, 'ERR_SD_INVALID_ARGUMENT', `${src}: ${JSON.stringify(r.json.results[i])}`);
    });
    assert.match(r.json.results[10].error.message, /listening/);
    await receiver.next((m) => m.pid === r.json.pid && m.text === 'STATUS=after');
    assert.deepEqual(receiver.messages.filter((m) => m.pid === r.json.pid).map((m) => m.text), ['STATUS=after']);
  } finally {
    await receiver.close();
  }
});

/** The native receiver (it hands over the stored fd) at a fresh path. */
function fdstoreReceiver() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-fdstore-'));
  const rx = nativeReceiver(path.join(dir, 'notify.sock'), { keepFds: true });
  return { ...rx, close() { rx.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

function get(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
  });
}

function readyLine(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.proc.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    child.done.then((r) => reject(new Error(`child ended before ready: ${r.stdout} ${r.stderr}`)));
  });
}

test('fd store round trip: self-bound and stored on the first start, inherited and adopted on the next, no refused connection', async () => {
  const rx = fdstoreReceiver();
  const port = freePort();
  const leftovers = [];
  try {
    // First start: nothing inherited, binds 127.0.0.1:port itself and stores it.
    const first = startChild({ script: 'fdstore-app.js', args: [String(port)], env: { NOTIFY_SOCKET: rx.address } });
    const one = await readyLine(first);
    assert.equal(one.inherited, false);
    assert.deepEqual(one.stored, [{ listener: 'web', fd: one.fd }]);
    const stored = await rx.next((m) => m.pid === one.pid && m.text.startsWith('FDSTORE=1'));
    assert.equal(stored.text, 'FDSTORE=1\nFDNAME=web');
    assert.equal(stored.fds.length, 1);
    const [fd] = stored.fds;
    leftovers.push(fd);
    const d = native.describeSocket(fd);
    assert.equal(d.family, 'inet');
    assert.equal(d.type, 'stream');
    assert.equal(d.listening, true);
    assert.equal(d.port, port);
    await rx.next((m) => m.pid === one.pid && m.text === 'READY=1\nSTATUS=serving a self-bound socket');
    assert.equal((await get(port)).pid, one.pid);

    // Stop it: STOPPING=1, graceful close, exit 0. The stored socket stays open here.
    first.proc.kill('SIGTERM');
    const firstDone = await first.done;
    assert.equal(firstDone.code, 0, firstDone.stderr);
    await rx.next((m) => m.pid === one.pid && m.text === 'STOPPING=1');

    // While no process serves, a client connects: it waits in the stored socket's backlog.
    let onConnect;
    const connected = new Promise((r) => { onConnect = r; });
    const pending = new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => { body += c; }).on('end', () => resolve(JSON.parse(body)));
      });
      req.on('socket', (s) => s.once('connect', () => onConnect()));
      req.on('error', reject);
    });
    // The kernel accepts it into the stored socket's backlog (connect fires);
    // a refused connection would reject `pending` here instead.
    await Promise.race([connected, pending]);

    // Next start: the manager passes the stored fd back as fd 3 named "web".
    leftovers.length = 0; // startChild closes this process's copy
    const second = startChild({ script: 'fdstore-app.js', args: [String(port)], fds: [fd], names: ['web'],
      env: { NOTIFY_SOCKET: rx.address } });
    const two = await readyLine(second);
    assert.equal(two.inherited, true);
    assert.equal(two.fd, 3);
    assert.deepEqual(two.stored, [], 'an inherited socket is not stored again');
    await rx.next((m) => m.pid === two.pid && m.text === 'READY=1\nSTATUS=serving an inherited socket');
    assert.deepEqual(await pending, { pid: two.pid, inherited: true }, 'the waiting connection was served by the new process');
    assert.deepEqual(await get(port), { pid: two.pid, inherited: true });
    assert.equal(rx.messages.filter((m) => m.pid === two.pid && m.text.startsWith('FDSTORE')).length, 0);

    second.proc.kill('SIGTERM');
    const secondDone = await second.done;
    assert.equal(secondDone.code, 0, secondDone.stderr);
    await rx.next((m) => m.pid === two.pid && m.text === 'STOPPING=1');
  } finally {
    for (const fd of leftovers) native.close(fd);
    rx.close();
  }
});
