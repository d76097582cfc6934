// SPDX-License-Identifier: MIT
'use strict';
// Scale to zero (lib/idle.ts): lifecycle({ idleExitMs }) and the preload's
// SD_ACTIVATE_IDLE_EXIT_MS exit 0 after N ms with no open connection, and
// nothing is lost at the boundary: the socket stays open here (as the
// manager's copy does), so a connection made while the app exits waits in
// the kernel's queue for the next instance. Refused where nothing would
// start the app again.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { openSocket, startChild, freePort } = require('./helpers/child');
const { get } = require('./helpers/http');
const { slack } = require('./helpers/common');
const { startReceiver } = require('./helpers/receiver');
const native = require('../dist/binding').native();

/** One instance of the idle app on the inherited socket `s` (kept open here). */
function instance(s, recv, env = {}) {
  return startChild({ fds: [s.fd], keep: true, script: 'idle-app.js', timeout: 30000,
    env: { PORT: String(s.port), IDLE_MS: '300', NOTIFY_SOCKET: recv.address, SD_ACTIVATE_ON_DEMAND: '1', ...env } });
}

test('idle for idleExitMs with no open connection: STOPPING=1 with STATUS=, a line on stderr, exit 0; an open connection keeps it up', async (t) => {
  const recv = await startReceiver();
  t.after(() => recv.close());
  const s = openSocket('tcp', '127.0.0.1', 0);
  t.after(() => native.close(s.fd));
  const c = instance(s, recv);
  await recv.next((m) => /READY=1/.test(m.text));
  // A connection held open (no request) for 1 s: no idle exit meanwhile.
  const held = net.connect(s.port, '127.0.0.1');
  await new Promise((r) => held.once('connect', r));
  await new Promise((r) => setTimeout(r, slack(1000)));
  assert.equal(c.proc.exitCode, null, 'still running while a connection is open');
  held.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const r = await c.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sd-activate: idle for 300 ms \(no open connection\): exiting with status 0/);
  const m = await recv.next((x) => /STOPPING=1/.test(x.text));
  assert.match(m.text, /STATUS=Idle for 300 ms: exiting/);
});

test('the boundary: connections made just before, during and just after an idle exit are all answered (by this instance or the next)', async (t) => {
  const recv = await startReceiver();
  t.after(() => recv.close());
  const s = openSocket('tcp', '127.0.0.1', 0);
  t.after(() => native.close(s.fd));
  const offsets = [-20, -5, 0, 2, 5, 10, 20, 50];
  for (const offset of offsets) {
    const c = instance(s, recv, { IDLE_MS: '200' });
    await recv.next((m) => /READY=1/.test(m.text) && m.pid === c.proc.pid);
    // The exit comes about 200 ms after the last connection closed: aim around it.
    const last = await get(s.port);
    assert.equal(last.status, 200);
    await new Promise((r) => setTimeout(r, Math.max(0, 200 + offset)));
    const late = get(s.port, '127.0.0.1', '/', 15000);
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    // The next instance, as the socket unit would start it on the waiting connection.
    const next = instance(s, recv, { IDLE_MS: '200' });
    const got = await late;
    assert.equal(got.status, 200, `offset ${offset} ms: ${JSON.stringify(got)}`);
    assert.ok([c.proc.pid, next.proc.pid].includes(Number(got.body)));
    next.proc.kill('SIGTERM');
    await next.done;
  }
});

test('a stop drains keep-alive: a response in flight says Connection: close, and the connection is closed after it', async (t) => {
  const recv = await startReceiver();
  t.after(() => recv.close());
  const s = openSocket('tcp', '127.0.0.1', 0);
  t.after(() => native.close(s.fd));
  const c = instance(s, recv, { IDLE_MS: '60000' });
  await recv.next((m) => /READY=1/.test(m.text));
  const sock = net.connect(s.port, '127.0.0.1');
  let raw = '';
  sock.on('data', (d) => { raw += d; });
  const closed = new Promise((r) => sock.on('close', r));
  sock.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'); // keep-alive (HTTP/1.1 default)
  await new Promise((r) => setTimeout(r, 100));
  c.proc.kill('SIGTERM');
  await closed;
  assert.match(raw, /^HTTP\/1\.1 200/);
  assert.match(raw, /\r\nConnection: close\r\n/i);
  assert.equal((await c.done).code, 0);
});

test('idle exit is refused, with the reason, where nothing would start the app again; the app keeps serving', async (t) => {
  const cases = [
    { name: 'no inherited sockets', inherited: false, env: {}, re: /idle exit is off: this process inherited no sockets \(LISTEN_FDS\)/ },
    { name: 'a self-bound server', inherited: true, env: { SELF_BOUND: '1', SD_ACTIVATE_ON_DEMAND: '1' }, re: /idle exit is off: 127\.0\.0\.1:\d+ \(fd \d+\) is not on an inherited socket \(this process bound it\)/ },
    { name: 'the fd store', inherited: true, env: { STORE: '1', SD_ACTIVATE_ON_DEMAND: '1' }, re: /idle exit is off: this process handed sockets to the fd store, which systemd 252 empties/ },
    { name: 'nothing known to start it again', inherited: true, env: {}, skip: process.env.INVOCATION_ID !== undefined, re: /idle exit is off: nothing is known to start it again after an exit/ },
    { name: 'sd-activate without --lazy', inherited: true, env: { SD_ACTIVATE_ON_DEMAND: '0' }, re: /idle exit is off: sd-activate runs it without --lazy/ },
    { name: 'a systemd service that cannot be checked', inherited: true, env: { INVOCATION_ID: '0123456789abcdef0123456789abcdef' },
      re: /idle exit is off: (whether a \.socket unit starts .* could not be checked|this process runs under systemd, but its unit could not be read)/ },
  ];
  for (const k of cases) {
    if (k.skip) continue; // this runner is itself a systemd service
    const recv = await startReceiver();
    const port = k.inherited ? undefined : freePort();
    const s = k.inherited ? openSocket('tcp', '127.0.0.1', 0) : undefined;
    t.after(() => recv.close());
    const c = startChild({ fds: s ? [s.fd] : [], script: 'idle-app.js', timeout: 30000,
      env: { PORT: String(s ? s.port : port), IDLE_MS: '100', NOTIFY_SOCKET: recv.address, ...k.env } });
    t.after(() => { if (c.proc.exitCode === null) c.proc.kill('SIGKILL'); });
    let stderr = '';
    c.proc.stderr.on('data', (d) => { stderr += d; }); // from the start: the warning may come with READY=1
    await recv.next((m) => /READY=1/.test(m.text));
    const end = Date.now() + slack(5000);
    while (!k.re.test(stderr) && Date.now() < end && c.proc.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, slack(400)));
    assert.equal(c.proc.exitCode, null, `${k.name}: still running`);
    assert.match(stderr, k.re, k.name);
    assert.equal((await get(s ? s.port : port)).status, 200, `${k.name}: still serving`);
    c.proc.kill('SIGTERM');
    await c.done;
  }
});

test('idleExitMs is checked: not a positive integer, or without servers, is ERR_SD_INVALID_ARGUMENT', () => {
  const { lifecycle } = require('..');
  const net2 = require('node:net');
  for (const bad of [0, -1, 1.5, '100', NaN]) {
    assert.throws(() => lifecycle({ idleExitMs: bad, servers: [net2.createServer()], stopSignals: [] }), { code: 'ERR_SD_INVALID_ARGUMENT' }, String(bad));
  }
  assert.throws(() => lifecycle({ idleExitMs: 100, stopSignals: [] }), /idleExitMs needs servers/);
});

test('zero-code: SD_ACTIVATE_IDLE_EXIT_MS makes an unmodified app exit 0 when idle; a connection made at the boundary waits for the next instance', async (t) => {
  const recv = await startReceiver();
  t.after(() => recv.close());
  const s = openSocket('tcp', '127.0.0.1', 0);
  t.after(() => native.close(s.fd));
  const { REGISTER } = { REGISTER: require.resolve('../dist/register.js') };
  const app = (env = {}) => startChild({ fds: [s.fd], keep: true, script: 'preload-app.js', nodeArgs: ['--require', REGISTER], timeout: 30000,
    args: [JSON.stringify([{ op: 'listen', id: 'a', args: [s.port, '127.0.0.1'] }, { op: 'serve' }])],
    env: { NOTIFY_SOCKET: recv.address, SD_ACTIVATE_IDLE_EXIT_MS: '300', SD_ACTIVATE_SETTLE_MS: '50', SD_ACTIVATE_ON_DEMAND: '1', ...env } });
  const c = app();
  await recv.next((m) => /READY=1/.test(m.text));
  assert.equal((await get(s.port)).status, 200);
  const r = await c.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sd-activate: idle for 300 ms \(no open connection\): exiting with status 0/);
  const waiting = get(s.port, '127.0.0.1', '/', 15000); // nobody accepts now: it waits in the queue
  await new Promise((r2) => setTimeout(r2, 200));
  const next = app();
  assert.equal((await waiting).status, 200);
  next.proc.kill('SIGKILL');
  await next.done;
  const bad = startChild({ script: 'preload-app.js', nodeArgs: ['--require', REGISTER], timeout: 10000,
    args: [JSON.stringify([{ op: 'listen', id: 'a', args: [0, '127.0.0.1'] }])], env: { SD_ACTIVATE_IDLE_EXIT_MS: 'soon' } });
  assert.match((await bad.done).stderr, /SD_ACTIVATE_IDLE_EXIT_MS="soon" is not valid/);
});
