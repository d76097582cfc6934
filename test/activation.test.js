// SPDX-License-Identifier: MIT
'use strict';
// activate(): real sockets at fds 3, 4, ... of real children (LISTEN_PID = their
// own pid) running test/fixtures/activation-app.js; the test connects to prove
// what is served and what is refused.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { openSocket, runChild } = require('./helpers/child');
const native = require('./helpers/native');
const { startApp, probe, tryProbe, udpAsk, freePort } = require('./helpers/activation-app');

const { SOMAXCONN, tmpdir, checkBackend } = require('./helpers/common');
const fdT = (fd, backlog = SOMAXCONN) => ({ fd, backlog });

function rejectedWarnings(ready) {
  return ready.warnings.filter((w) => w.code === 'SD_ACTIVATE_REJECTED_FD');
}

test('TCP socket at fd 3 is adopted and served; targets are { fd }', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } } }, { fds: [s.fd] });
  try {
    const r = app.ready;
    checkBackend(r);
    assert.equal(r.report.environment, 'inherited');
    assert.deepEqual(r.targets.web, [fdT(3)]);
    assert.equal(r.inherited.web, true);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.report.adopted.length, 1);
    assert.equal(r.report.adopted[0].fd, 3);
    assert.equal(r.report.adopted[0].via, '127.0.0.1');
    assert.equal(r.report.adopted[0].socket, `tcp 127.0.0.1:${s.port} (listening)`);
    assert.deepEqual(r.report.rejected, []);
    assert.equal(r.addresses.web[0].port, s.port);
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
  } finally {
    const { code } = await app.stop();
    assert.equal(code, 0);
  }
});

test('the plan is JSON-safe: an Activation rebuilt from it has the same listeners, targets and refusals', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const port = await freePort();
  const config = { web: { port: s.port, bind: '127.0.0.1' }, other: { port, bind: '127.0.0.1' } };
  const app = await startApp({ config, plan: true, skipListen: ['other'] }, { fds: [s.fd] });
  try {
    const r = app.ready;
    assert.equal(r.plan.version, 1);
    assert.deepEqual(r.plan.listeners.map((l) => l.name), ['web', 'other']);
    assert.deepEqual(r.plan.listeners[0].adopted.map((a) => [a.fd, a.via, a.description.port]), [[3, '127.0.0.1', s.port]]);
    assert.deepEqual(r.plan.listeners[0].targets, [fdT(3)]);
    assert.deepEqual(r.plan.listeners[1].targets, [{ port, host: '127.0.0.1' }]);
    assert.deepEqual(r.fromPlan.names, ['web', 'other']);
    assert.equal(r.fromPlan.environment, 'inherited');
    assert.deepEqual(r.fromPlan.targets, r.targets);
    assert.deepEqual(r.fromPlan.inherited, { web: true, other: false });
    assert.deepEqual(r.fromPlan.rebind, { web: 'ERR_SD_REBIND_INHERITED', other: 'ok' });
  } finally {
    assert.equal((await app.stop()).code, 0);
  }
});

test('listener without bind adopts any address (Node\'s default bind)', async () => {
  const s = openSocket('tcp', '::', 0, { v6only: 0 });
  const app = await startApp({ config: { web: { port: s.port } } }, { fds: [s.fd] });
  try {
    assert.deepEqual(app.ready.targets.web, [fdT(3)]);
    assert.equal(app.ready.report.adopted[0].via, '(any)');
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
    assert.equal(await probe({ host: '::1', port: s.port }), 'web');
  } finally {
    await app.stop();
  }
});

test('unix socket is adopted, served, and still on disk after the server closes and the process exits', async (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'admin.sock');
  const s = openSocket('unix', p);
  const app = await startApp({ config: { admin: { path: p } }, watchPaths: [p] }, { fds: [s.fd] });
  const r = app.ready;
  assert.deepEqual(r.targets.admin, [fdT(3)]);
  assert.equal(r.report.adopted[0].via, 'path');
  assert.equal(await probe({ path: p }), 'admin');
  const { final, code } = await app.stop();
  assert.equal(code, 0);
  assert.equal(final.exists[p], true, 'file exists after server.close()');
  assert.equal(fs.statSync(p).isSocket(), true, 'file exists after the process exited');
});

function ssBacklog(port) {
  const r = require('node:child_process').spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const cols = r.stdout.trim().split(/\s+/);
  return Number(cols[2]); // State Recv-Q Send-Q(= backlog of a listener) Local Peer
}

test('an adopted socket keeps a large backlog (Node would re-listen it with 511); a configured backlog wins', async (t) => {
  const a = openSocket('tcp', '127.0.0.1', 0, { backlog: 4096 });
  const b = openSocket('tcp', '127.0.0.1', 0, { backlog: 4096 });
  const app = await startApp({ config: { a: { port: a.port, bind: '127.0.0.1' }, b: { port: b.port, bind: '127.0.0.1', backlog: 64 } } },
    { fds: [a.fd, b.fd] });
  try {
    assert.deepEqual(app.ready.targets.a, [fdT(3)]);
    assert.deepEqual(app.ready.targets.b, [fdT(4, 64)]);
    const got = ssBacklog(a.port);
    if (got === null) {
      t.diagnostic('ss(8) not available: kernel backlog not checked');
    } else {
      assert.equal(got, Math.min(4096, SOMAXCONN));
      assert.equal(ssBacklog(b.port), 64);
    }
  } finally {
    await app.stop();
  }
});

// Node 20 (libuv) connects to and binds abstract names padded with NULs to the
// full sun_path, unlike systemd's ListenStream=@name; probe exact names with python.
function probeAbstractExact(name) {
  const py = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  return execFileSync(py, ['-c', `import socket,sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(b"\\0" + sys.argv[1].encode())
print(s.recv(100).decode().strip())`, name.slice(1)], { encoding: 'utf8' }).trim();
}

test('abstract unix socket (@name) is adopted; a self-bound one is served too', async () => {
  const name = `@sd-act-test-${process.pid}-${Date.now()}`;
  const s = openSocket('unix', name);
  const app = await startApp({ config: { a: { path: name }, b: { path: `${name}-self` } } }, { fds: [s.fd] });
  try {
    assert.deepEqual(app.ready.targets.a, [fdT(3)]);
    assert.equal(app.ready.report.adopted[0].socket, `unix ${name} (listening)`);
    assert.deepEqual(app.ready.targets.b, [{ path: `\0${name.slice(1)}-self` }]);
    assert.equal(probeAbstractExact(name), 'a');
    assert.equal(await probe({ path: `\0${name.slice(1)}-self` }), 'b');
  } finally {
    await app.stop();
  }
});

test('0.0.0.0 inherited for bind 127.0.0.1: rejected, closed, warned (fd 3 and its address); the address held is a configuration error', async () => {
  const s = openSocket('tcp', '0.0.0.0', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } } }, { fds: [s.fd] });
  try {
    const r = app.ready;
    const ws = rejectedWarnings(r);
    assert.equal(ws.length, 1);
    assert.equal(ws[0].fd, 3);
    assert.equal(ws[0].reason, 'address-not-allowed');
    assert.match(ws[0].message, /fd 3\b/);
    assert.match(ws[0].message, new RegExp(`0\\.0\\.0\\.0:${s.port}`));
    assert.match(ws[0].message, /any IPv4 address/);
    assert.match(ws[0].message, /closed it/);
    assert.equal(r.inherited.web, false);
    assert.equal(r.report.rejected[0].closed, true);
    assert.equal(r.fdsAfterActivate['3'], undefined, 'fd 3 closed in the child');
    // The manager keeps its copy of the rejected socket: binding 127.0.0.1 on its port would fail.
    assert.deepEqual(r.targets.web, { error: 'ERR_SD_ADDRESS_HELD' });
    assert.equal(r.errors.web.code, 'ERR_SD_ADDRESS_HELD');
    assert.deepEqual(r.report.listeners.web.targets, [{ host: '127.0.0.1', port: s.port }]);
    assert.equal((await tryProbe({ host: '127.0.0.1', port: s.port })).code, 'ECONNREFUSED', 'nothing serves the rejected socket');
  } finally {
    await app.stop();
  }
});

test('port mismatch: inherited socket closed with a warning, a probe to it is refused; the configured port is bound', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const other = freePort();
  const app = await startApp({ config: { web: { port: other, bind: '127.0.0.1' } } }, { fds: [s.fd] });
  try {
    const ws = rejectedWarnings(app.ready);
    assert.equal(ws.length, 1);
    assert.equal(ws[0].reason, 'no-listener');
    assert.match(ws[0].message, new RegExp(`fd 3 \\(tcp 127\\.0\\.0\\.1:${s.port} \\(listening\\)\\)`));
    assert.match(ws[0].message, new RegExp(`no listener is configured for tcp port ${s.port}`));
    assert.equal((await tryProbe({ host: '127.0.0.1', port: s.port })).code, 'ECONNREFUSED');
    assert.equal(await probe({ host: '127.0.0.1', port: other }), 'web');
  } finally {
    await app.stop();
  }
});

test('path mismatch: inherited unix socket closed (never unlinked), refused; the configured path is bound and cleaned on close', async (t) => {
  const dir = tmpdir(t);
  const a = path.join(dir, 'a.sock');
  const b = path.join(dir, 'b.sock');
  const s = openSocket('unix', a);
  const app = await startApp({ config: { admin: { path: b } }, watchPaths: [a, b] }, { fds: [s.fd] });
  const ws = rejectedWarnings(app.ready);
  assert.equal(ws.length, 1);
  assert.equal(ws[0].reason, 'no-listener');
  assert.match(ws[0].message, new RegExp(`unix ${a.replace(/[.]/g, '\\.')}`));
  assert.deepEqual(app.ready.targets.admin, [{ path: b }]);
  assert.equal((await tryProbe({ path: a })).code, 'ECONNREFUSED');
  assert.equal(await probe({ path: b }), 'admin');
  const { final } = await app.stop();
  assert.equal(final.exists[a], true, 'rejected inherited unix socket file is not unlinked');
  assert.equal(final.exists[b], false, 'self-bound unix socket is removed by Node on close');
});

test('wildcards and dual-stack: "*", "::*", ipv6Only, IPv4-mapped', async () => {
  // [socket address, v6only, listener config (without port), adopted?]
  const cases = [
    ['0.0.0.0', -1, { bind: '*' }, true],
    ['::', 0, { bind: '*' }, false], // dual-stack also takes IPv4: never matches "*" alone
    ['::', 0, { bind: '::*' }, true],
    ['::', 0, { bind: '::*', ipv6Only: true }, false],
    ['::', 1, { bind: '::*', ipv6Only: true }, true],
    ['::', 1, { bind: '::*' }, true],
    ['::', 1, { bind: '*' }, false],
    ['0.0.0.0', -1, { bind: '::*' }, false], // the family decides first: ::* never takes an AF_INET socket
    ['0.0.0.0', -1, { bind: '::*', ipv6Only: true }, false],
    ['::1', -1, { bind: '::*' }, true],
    ['::1', -1, { bind: '*' }, false],
    ['127.0.0.1', -1, {}, true],
    ['::', 0, {}, true],
    ['::', 0, { ipv6Only: true }, false],
    ['::ffff:127.0.0.1', 0, { bind: '127.0.0.1' }, true],
    ['::ffff:127.0.0.1', 0, { bind: '::1' }, false],
    ['127.0.0.1', -1, { bind: '::ffff:127.0.0.1' }, true],
    ['127.0.0.1', -1, { bind: ['::1', '127.0.0.2'] }, false],
  ];
  // Every case on a port of its own: an IPv6-only socket may get the port an
  // IPv4 one has, and two listeners with one port and one bind would claim each
  // other's socket.
  const ports = new Set();
  const socks = cases.map(([addr, v6only]) => {
    for (;;) {
      const sock = openSocket('tcp', addr, 0, { v6only });
      if (!ports.has(sock.port)) return ports.add(sock.port), sock;
      native.close(sock.fd);
    }
  });
  const config = {};
  cases.forEach(([, , cfg], i) => { config[`c${i}`] = { port: socks[i].port, ...cfg }; });
  const app = await startApp({ config, skipListen: cases.map((c, i) => (c[3] ? null : `c${i}`)).filter(Boolean) },
    { fds: socks.map((s) => s.fd) });
  try {
    const r = app.ready;
    for (const [i, [addr, v6only, cfg, adopted]] of cases.entries()) {
      const label = `case ${i}: ${addr} v6only=${v6only} ${JSON.stringify(cfg)}`;
      const fd = 3 + i;
      assert.equal(r.inherited[`c${i}`], adopted, label);
      if (adopted) {
        assert.deepEqual(r.targets[`c${i}`], [fdT(fd)], label);
        const host = addr === '::' || addr === '::1' ? '::1' : '127.0.0.1';
        assert.equal(await probe({ host, port: socks[i].port }), `c${i}`, label);
      } else {
        const w = rejectedWarnings(r).find((x) => x.fd === fd);
        assert.ok(w, label);
        assert.equal(w.reason, 'address-not-allowed', label);
        assert.equal(r.fdsAfterActivate[String(fd)], undefined, `${label}: closed`);
        const host = addr.includes(':') && !addr.startsWith('::ffff') ? '::1' : '127.0.0.1';
        assert.equal((await tryProbe({ host, port: socks[i].port })).code, 'ECONNREFUSED', label);
      }
    }
    // A rejected dual-stack socket still holds its port at the manager: the self-bind it
    // would take instead (0.0.0.0 for "*", [::] IPv6-only) is a configuration error.
    for (const [c, target] of [['c1', { host: '0.0.0.0', port: socks[1].port }], ['c3', { host: '::', port: socks[3].port, ipv6Only: true }],
      ['c13', { port: socks[13].port, ipv6Only: true }]]) {
      assert.deepEqual(r.targets[c], { error: 'ERR_SD_ADDRESS_HELD' }, c);
      assert.deepEqual(r.report.listeners[c].targets, [target], c);
      assert.equal(r.report.listeners[c].held.length, 1, c);
    }
  } finally {
    await app.stop();
  }
});

test('several bind addresses: one inherited, the other self-bound (partial activation)', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: ['127.0.0.1', '127.0.0.2'] } } }, { fds: [s.fd] });
  try {
    assert.deepEqual(app.ready.targets.web, [fdT(3), { host: '127.0.0.2', port: s.port }]);
    assert.equal(app.ready.inherited.web, true);
    assert.deepEqual(app.ready.warnings, []);
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
    assert.equal(await probe({ host: '127.0.0.2', port: s.port }), 'web');
    assert.equal((await tryProbe({ host: '127.0.0.3', port: s.port })).code, 'ECONNREFUSED');
  } finally {
    await app.stop();
  }
});

test('several inherited sockets for one listener, IPv4 and IPv6', async () => {
  const a = openSocket('tcp', '127.0.0.1', 0);
  const b = openSocket('tcp', '::1', a.port);
  const app = await startApp({ config: { web: { port: a.port, bind: ['127.0.0.1', '::1'] } } }, { fds: [a.fd, b.fd] });
  try {
    assert.deepEqual(app.ready.targets.web, [fdT(3), fdT(4)]);
    assert.equal(await probe({ host: '127.0.0.1', port: a.port }), 'web');
    assert.equal(await probe({ host: '::1', port: a.port }), 'web');
  } finally {
    await app.stop();
  }
});

test('unix inherited + TCP self-bound (partial activation across listeners)', async (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'admin.sock');
  const s = openSocket('unix', p);
  const app = await startApp({ config: { admin: { path: p }, web: { port: 0, bind: '127.0.0.1' } } }, { fds: [s.fd] });
  try {
    const r = app.ready;
    assert.equal(r.inherited.admin, true);
    assert.equal(r.inherited.web, false);
    assert.deepEqual(r.targets.web, [{ host: '127.0.0.1', port: 0 }]);
    assert.equal(await probe({ path: p }), 'admin');
    assert.equal(await probe({ host: '127.0.0.1', port: r.addresses.web[0].port }), 'web');
  } finally {
    await app.stop();
  }
});

test('UDP socket adopted: a datagram gets a reply', async () => {
  const s = openSocket('udp', '127.0.0.1', 0);
  const s6 = openSocket('udp', '::1', 0);
  const app = await startApp({ config: {
    dns: { port: s.port, type: 'datagram', bind: '127.0.0.1' },
    dns6: { port: s6.port, type: 'datagram', bind: '::1' },
  } }, { fds: [s.fd, s6.fd] });
  try {
    assert.deepEqual(app.ready.targets.dns, [{ fd: 3, type: 'udp4' }]);
    assert.deepEqual(app.ready.targets.dns6, [{ fd: 4, type: 'udp6' }]);
    assert.equal(await udpAsk(s.port, '127.0.0.1', 'ping'), 'dns:ping');
    assert.equal(await udpAsk(s6.port, '::1', 'pong'), 'dns6:pong');
  } finally {
    await app.stop();
  }
});

test('datagram for a stream listener, non-listening TCP, connected TCP, seqpacket, unix datagram, file and fifo are never adopted', async (t) => {
  const dir = tmpdir(t);
  const udp = openSocket('udp', '127.0.0.1', 0);
  const bound = openSocket('tcp', '127.0.0.1', 0, { backlog: -1 });
  const spPath = path.join(dir, 'sp.sock');
  const sp = openSocket('seqpacket', spPath);
  const udPath = path.join(dir, 'ud.sock');
  const ud = openSocket('unix-dgram', udPath);
  const filePath = path.join(dir, 'file');
  fs.writeFileSync(filePath, 'x');
  const file = fs.openSync(filePath, 'r');
  const fifoPath = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifoPath]);
  const fifo = fs.openSync(fifoPath, fs.constants.O_RDWR);
  // A connected TCP socket, as Accept=yes would pass.
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise((r) => server.once('connection', r));
  const client = net.connect(server.address().port, '127.0.0.1');
  const conn = await accepted;
  const connFd = conn._handle.fd;
  assert.ok(connFd > 2);

  const config = {
    web: { port: udp.port },
    api: { port: bound.port },
    acc: { port: conn.localPort, bind: '127.0.0.1' },
    sp: { path: spPath },
    ud: { path: udPath },
  };
  const fds = [udp.fd, bound.fd, connFd, sp.fd, ud.fd, file, fifo];
  let app;
  try {
    app = await startApp({ config, skipListen: ['acc', 'sp', 'ud'] }, { fds, keep: true });
  } finally {
    for (const fd of [udp.fd, bound.fd, sp.fd, ud.fd, file, fifo]) native.close(fd);
    client.destroy();
    conn.destroy();
    server.close();
  }
  try {
    const r = app.ready;
    assert.deepEqual(r.report.adopted, []);
    const byFd = Object.fromEntries(r.report.rejected.map((x) => [x.fd, x]));
    assert.equal(byFd[3].reason, 'kind-mismatch');
    assert.match(byFd[3].detail, /stream listener/);
    assert.equal(byFd[4].reason, 'not-listening');
    assert.equal(byFd[5].reason, 'not-listening');
    assert.equal(byFd[6].reason, 'unsupported');
    assert.equal(byFd[7].reason, 'unsupported');
    assert.equal(byFd[8].reason, 'not-a-socket');
    assert.equal(byFd[8].socket, 'regular file');
    assert.equal(byFd[9].reason, 'not-a-socket');
    assert.equal(byFd[9].socket, 'fifo');
    for (const fd of [3, 4, 5, 6, 7]) {
      assert.equal(byFd[fd].closed, true, `fd ${fd} closed`);
      assert.equal(r.fdsAfterActivate[String(fd)], undefined, `fd ${fd} closed in the child`);
    }
    for (const fd of [8, 9]) {
      assert.equal(byFd[fd].closed, false, `fd ${fd} (not a socket) left open`);
      assert.ok(r.fdsAfterActivate[String(fd)], `fd ${fd} still open in the child`);
    }
    assert.equal(rejectedWarnings(r).length, 7);
    // The stream listeners bound themselves instead.
    assert.equal(await probe({ host: '127.0.0.1', port: r.addresses.web[0].port }), 'web');
    assert.equal(await probe({ host: '127.0.0.1', port: bound.port }), 'api');
  } finally {
    await app.stop();
  }
});

test('many inherited, one matching: only that one is adopted, the others are closed and refuse', async () => {
  const socks = [0, 1, 2, 3, 4].map(() => openSocket('tcp', '127.0.0.1', 0));
  const app = await startApp({ config: { web: { port: socks[2].port, bind: '127.0.0.1' } } }, { fds: socks.map((s) => s.fd) });
  try {
    const r = app.ready;
    assert.deepEqual(r.targets.web, [fdT(5)]);
    assert.deepEqual(r.report.rejected.map((x) => [x.fd, x.reason, x.closed]),
      [[3, 'no-listener', true], [4, 'no-listener', true], [6, 'no-listener', true], [7, 'no-listener', true]]);
    assert.deepEqual(rejectedWarnings(r).map((w) => w.fd), [3, 4, 6, 7]);
    for (const [i, s] of socks.entries()) {
      if (i === 2) assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
      else assert.equal((await tryProbe({ host: '127.0.0.1', port: s.port })).code, 'ECONNREFUSED');
    }
  } finally {
    await app.stop();
  }
});

test('fdname: a listener takes a socket by LISTEN_FDNAMES name; otherwise names never decide', async () => {
  const a = openSocket('tcp', '127.0.0.1', 0);
  const b = openSocket('tcp', '127.0.0.1', 0);
  const other = freePort();
  const app = await startApp({ config: {
    front: { fdname: 'web', port: 0, bind: '127.0.0.1' },
    api: { port: other, bind: '127.0.0.1' },
    spare: { fdname: 'absent', port: 0, bind: '127.0.0.1' },
    ghost: { fdname: 'nothere' },
  } }, { fds: [a.fd, b.fd], names: ['web', 'api'] });
  try {
    const r = app.ready;
    assert.deepEqual(r.targets.front, [fdT(3)], 'no fallback target once a named socket is adopted');
    assert.equal(r.report.adopted[0].via, 'fdname');
    assert.equal(r.report.adopted[0].fdname, 'web');
    assert.equal(r.report.rejected[0].fd, 4);
    assert.equal(r.report.rejected[0].reason, 'no-listener', 'a socket named like a listener is still matched by address');
    assert.match(rejectedWarnings(r)[0].message, /named "api"/);
    assert.deepEqual(r.targets.spare, [{ host: '127.0.0.1', port: 0 }], 'fdname listener falls back to port/bind');
    assert.deepEqual(r.targets.ghost, []);
    assert.deepEqual(r.addresses.ghost, []);
    const missing = r.warnings.filter((w) => w.code === 'SD_ACTIVATE_MISSING_FDNAME');
    assert.equal(missing.length, 1, 'only the listener without fallback is warned about');
    assert.match(missing[0].message, /"ghost" asks for fdname "nothere".*names: "web", "api"/);
    assert.equal(await probe({ host: '127.0.0.1', port: a.port }), 'front');
    assert.equal((await tryProbe({ host: '127.0.0.1', port: b.port })).code, 'ECONNREFUSED');
    assert.equal(await probe({ host: '127.0.0.1', port: other }), 'api');
  } finally {
    await app.stop();
  }
});

test('rebind: refused for an inherited listener (ERR_SD_REBIND_INHERITED), allowed for a self-bound one; listen twice refused', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({
    config: { web: { port: s.port, bind: '127.0.0.1' }, api: { port: 0, bind: '127.0.0.1' } },
    rebind: { web: { port: 0, bind: '127.0.0.1' }, api: { port: 0, bind: '127.0.0.2' } },
    listenTwice: 'web',
  }, { fds: [s.fd] });
  try {
    const r = app.ready;
    assert.equal(r.listenTwice.code, 'ERR_SD_ALREADY_LISTENING');
    assert.equal(r.rebind.web.code, 'ERR_SD_REBIND_INHERITED');
    assert.match(r.rebind.web.message, /\.socket unit/);
    assert.match(r.rebind.web.message, new RegExp(`fd 3: tcp 127\\.0\\.0\\.1:${s.port}`));
    assert.deepEqual(r.rebind.api.targets, [{ host: '127.0.0.2', port: 0 }]);
    assert.deepEqual(r.rebind.api.after, [{ host: '127.0.0.2', port: 0 }]);
    const newPort = r.rebind.api.addresses[0].port;
    assert.equal(r.rebind.api.addresses[0].address, '127.0.0.2');
    assert.equal(await probe({ host: '127.0.0.2', port: newPort }), 'api@rebind');
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web', 'inherited listener still serves');
    assert.equal(r.report.listeners.web.inherited, true);
  } finally {
    await app.stop();
  }
});

test('activate twice: same config returns the same Activation (no double adoption), another config throws ERR_SD_ALREADY_ACTIVATED', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({
    config: { web: { port: s.port, bind: '127.0.0.1' } },
    again: { web: { port: s.port, bind: '*' } },
  }, { fds: [s.fd] });
  try {
    const r = app.ready;
    assert.equal(r.again.same, true);
    assert.equal(r.again.different.code, 'ERR_SD_ALREADY_ACTIVATED');
    assert.equal(r.report.adopted.length, 1);
    assert.deepEqual(r.targets.web, [fdT(3)]);
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
  } finally {
    await app.stop();
  }
});

function socketInodes(fds) {
  return Object.values(fds).filter((l) => l.startsWith('socket:'));
}

test('LISTEN_* are removed from the environment; a spawned child sees neither them nor the inherited socket', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } }, grandchild: true },
    { fds: [s.fd], names: ['web'] });
  try {
    const r = app.ready;
    assert.deepEqual(r.envAfter, {});
    assert.deepEqual(r.grandchild.env, {});
    const inode = r.fdsAfterActivate['3'];
    assert.match(inode, /^socket:/);
    assert.ok(!Object.values(r.grandchild.fds).includes(inode), 'the inherited socket is not in the grandchild');
    assert.ok(!Object.keys(r.grandchild.fds).includes('3') || r.grandchild.fds['3'] !== inode);
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
  } finally {
    await app.stop();
  }
});

test('unsetEnvironment: false keeps LISTEN_* (for the app), the grandchild still gets no socket', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port } }, options: { unsetEnvironment: false }, grandchild: true },
    { fds: [s.fd] });
  try {
    const r = app.ready;
    assert.equal(r.envAfter.LISTEN_FDS, '1');
    assert.equal(r.envAfter.LISTEN_PID, String(app.pid));
    assert.equal(r.grandchild.env.LISTEN_FDS, '1');
    const inode = r.fdsAfterActivate['3'];
    assert.ok(!Object.values(r.grandchild.fds).includes(inode));
    assert.ok(socketInodes(r.fdsNow).includes(inode), 'still open in the app');
  } finally {
    await app.stop();
  }
});

test('LISTEN_PID of another process: sockets left alone, a warning names the cause and the fix, listeners bind themselves', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const other = freePort();
  const app = await startApp({ config: { web: { port: other, bind: '127.0.0.1' } } },
    { fds: [s.fd], listenPid: process.pid });
  try {
    const r = app.ready;
    assert.equal(r.report.environment, 'pid-mismatch');
    const w = r.warnings.filter((x) => x.code === 'SD_ACTIVATE_LISTEN_PID_MISMATCH');
    assert.equal(w.length, 1);
    assert.match(w[0].message, new RegExp(`meant for pid ${process.pid}`));
    assert.match(w[0].message, /npm start/);
    assert.match(w[0].message, /ExecStart=/);
    assert.match(w[0].message, /exec node/);
    assert.ok(r.fdsAfterActivate['3'], 'fd 3 left open');
    assert.deepEqual(r.report.rejected, []);
    assert.deepEqual(r.targets.web, [{ host: '127.0.0.1', port: other }]);
    assert.equal(await probe({ host: '127.0.0.1', port: other }), 'web');
  } finally {
    await app.stop();
  }
});

test('LISTEN_PID mismatch through a wrapper that runs node as a child (the npm start trap) names the parent', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const spec = { config: { web: { port: 0, bind: '127.0.0.1' } } };
  const app = await startApp(spec, { script: 'activation-wrapper.js', args: [JSON.stringify(spec)], fds: [s.fd] });
  try {
    const w = app.ready.warnings.find((x) => x.code === 'SD_ACTIVATE_LISTEN_PID_MISMATCH');
    assert.ok(w);
    assert.match(w.message, /this process's parent/);
    assert.match(w.message, /activation-wrapper\.js/);
    assert.equal(await probe({ host: '127.0.0.1', port: app.ready.addresses.web[0].port }), 'web');
  } finally {
    await app.stop();
  }
});

test('LISTEN_FDS without LISTEN_PID: warned, nothing adopted', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: 0, bind: '127.0.0.1' } } }, { fds: [s.fd], listenPid: null });
  try {
    const w = app.ready.warnings.find((x) => x.code === 'SD_ACTIVATE_LISTEN_PID_MISMATCH');
    assert.match(w.message, /LISTEN_PID is not set/);
    assert.equal(app.ready.inherited.web, false);
  } finally {
    await app.stop();
  }
});

for (const [label, env] of [
  ['LISTEN_FDS=abc', { listenFds: 'abc' }],
  ['LISTEN_FDS=0', { listenFds: '0' }],
  ['LISTEN_FDS huge', { listenFds: '99999999999' }],
  ['LISTEN_FDS=-1', { listenFds: '-1' }],
  ['LISTEN_PID=abc', { listenFds: '1', listenPid: 'abc', withFd: true }],
]) {
  test(`malformed environment (${label}): warning, then normal binding, no crash`, async () => {
    const fds = env.withFd ? [openSocket('tcp', '127.0.0.1', 0).fd] : [];
    const app = await startApp({ config: { web: { port: 0, bind: '127.0.0.1' } } },
      { fds, listenFds: env.listenFds, names: env.names, listenPid: env.listenPid ?? 'self' });
    try {
      const r = app.ready;
      assert.equal(r.report.environment, 'malformed');
      const w = r.warnings.filter((x) => x.code === 'SD_ACTIVATE_MALFORMED_ENV');
      assert.equal(w.length, 1);
      assert.match(w[0].message, /LISTEN_FDS=/);
      assert.equal(r.inherited.web, false);
      assert.deepEqual(r.envAfter, {});
      assert.equal(await probe({ host: '127.0.0.1', port: r.addresses.web[0].port }), 'web');
    } finally {
      const { code } = await app.stop();
      assert.equal(code, 0);
    }
  });
}

test('LISTEN_FDNAMES of the wrong length: the fds are adopted by address, all named unknown, with a warning; listenFds() keeps EINVAL', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' }, named: { fdname: 'a' } } },
    { fds: [s.fd], names: 'a:b' });
  try {
    const r = app.ready;
    assert.equal(r.report.environment, 'inherited');
    assert.deepEqual(r.targets.web, [fdT(3)]);
    assert.equal(r.report.adopted[0].fdname, 'unknown');
    assert.deepEqual(r.warnings.map((w) => w.code), ['SD_ACTIVATE_FDNAMES_IGNORED', 'SD_ACTIVATE_MISSING_FDNAME']);
    assert.match(r.warnings[0].message, /LISTEN_FDNAMES="a:b" does not name the 1 fd\(s\) of LISTEN_FDS=1/);
    assert.match(r.warnings[1].message, /"named" asks for fdname "a".*names: "unknown"/);
    assert.deepEqual(r.envAfter, {});
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
  } finally {
    assert.equal((await app.stop()).code, 0);
  }
  const t = openSocket('tcp', '127.0.0.1', 0);
  const low = await runChild({ script: 'listen-fds.js', fds: [t.fd], names: 'a:b' });
  assert.equal(low.json.error.code, 'EINVAL', 'the low-level listenFds() keeps libsystemd\'s answer');
  assert.equal(low.json.error.syscall, 'sd_listen_fds_with_names');
});

test('LISTEN_FDS larger than what was passed: Node\'s own fds (epoll, pipes) are reported but never closed', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } } }, { fds: [s.fd], listenFds: 8 });
  try {
    const r = app.ready;
    assert.deepEqual(r.targets.web, [fdT(3)]);
    assert.equal(r.report.rejected.length, 7);
    for (const x of r.report.rejected) {
      assert.equal(x.reason, 'not-a-socket');
      assert.equal(x.closed, false);
      assert.equal(r.fdsAfterActivate[String(x.fd)], r.inheritedBefore[String(x.fd)]);
    }
    assert.equal(await probe({ host: '127.0.0.1', port: s.port }), 'web');
  } finally {
    const { code } = await app.stop();
    assert.equal(code, 0);
  }
});

test('no activation: every listener binds itself, no warnings', async (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'admin.sock');
  const app = await startApp({ config: { web: { port: 0, bind: '127.0.0.1' }, admin: { path: p }, dns: { port: 0, type: 'datagram', bind: '127.0.0.1' } }, watchPaths: [p] });
  const r = app.ready;
  assert.equal(r.report.environment, 'none');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.targets, {
    web: [{ host: '127.0.0.1', port: 0 }],
    admin: [{ path: p }],
    dns: [{ port: 0, address: '127.0.0.1', type: 'udp4' }],
  });
  assert.equal(await probe({ host: '127.0.0.1', port: r.addresses.web[0].port }), 'web');
  assert.equal(await probe({ path: p }), 'admin');
  assert.equal(await udpAsk(r.addresses.dns[0].port, '127.0.0.1', 'q'), 'dns:q');
  const { final } = await app.stop();
  assert.equal(final.exists[p], false);
});

test('self-bound unix: a stale socket file is removed before binding; a live one or a regular file is not', async (t) => {
  const dir = tmpdir(t);
  const stale = path.join(dir, 'stale.sock');
  native.close(openSocket('unix', stale).fd); // bound, then closed: the file stays, nothing listens
  assert.equal(fs.statSync(stale).isSocket(), true);
  const live = path.join(dir, 'live.sock');
  const holder = net.createServer((c) => { c.on('error', () => {}); c.end('holder\n'); });
  await new Promise((r) => holder.listen(live, r));
  t.after(() => holder.close());
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, 'keep me');
  const app = await startApp({ config: { a: { path: stale }, b: { path: live }, c: { path: file } } });
  try {
    const r = app.ready;
    assert.equal(await probe({ path: stale }), 'a');
    assert.equal(r.errors.b.code, 'EADDRINUSE');
    assert.equal(r.errors.c.code, 'EADDRINUSE');
    assert.equal(await probe({ path: live }), 'holder', 'the live socket still belongs to its owner');
    assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  } finally {
    await app.stop();
  }
});

test('default warnings go through process.emitWarning with a stable code', async () => {
  const s = openSocket('tcp', '0.0.0.0', 0);
  const app = await startApp({ config: { web: { port: await freePort(), bind: '127.0.0.1' } }, options: { defaultWarnings: true } },
    { fds: [s.fd] });
  try {
    const w = app.ready.warnings;
    assert.equal(w.length, 1);
    assert.equal(w[0].name, 'SdActivateWarning');
    assert.equal(w[0].code, 'SD_ACTIVATE_REJECTED_FD');
    assert.match(w[0].message, /fd 3/);
  } finally {
    const { stderr } = await app.stop();
    assert.match(stderr, /\[SD_ACTIVATE_REJECTED_FD\] SdActivateWarning: sd-activate: rejected inherited fd 3/);
  }
});

test('adoption is announced: one line per adopted socket and per listener binding itself, on stderr when sockets were passed', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const other = await freePort();
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' }, api: { port: other, bind: '127.0.0.1' } } }, { fds: [s.fd], names: ['front'] });
  const { stderr } = await app.stop();
  assert.match(stderr, new RegExp(`^sd-activate: listener "web": adopted inherited fd 3 named "front" \\(tcp 127\\.0\\.0\\.1:${s.port}, via 127\\.0\\.0\\.1\\)$`, 'm'));
  assert.match(stderr, new RegExp(`^sd-activate: listener "api": binds 127\\.0\\.0\\.1:${other} itself \\(no inherited socket for it\\)$`, 'm'));
  assert.doesNotMatch(stderr, /^<\d>/m, 'no priority prefix when stderr is not the journal');
});

test('outside systemd the default logger is silent; logger: false keeps info lines off; a logger given receives them', async () => {
  const plain = await startApp({ config: { web: { port: await freePort(), bind: '127.0.0.1' } } });
  assert.doesNotMatch((await plain.stop()).stderr, /sd-activate: listener/);
  const s = openSocket('tcp', '127.0.0.1', 0);
  const off = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } }, logger: false }, { fds: [s.fd] });
  assert.equal(off.ready.inherited.web, true);
  assert.doesNotMatch((await off.stop()).stderr, /sd-activate: listener/);
  const t = openSocket('tcp', '127.0.0.1', 0);
  const junk = openSocket('tcp', '127.0.0.1', 0);
  const mine = await startApp({ config: { web: { port: t.port, bind: '127.0.0.1' } }, logger: 'capture' }, { fds: [t.fd, junk.fd] });
  assert.deepEqual(mine.ready.log.map(([k, l]) => [k, l.slice(0, 70)]), [
    ['warn', `sd-activate: rejected inherited fd 4 (tcp 127.0.0.1:${junk.port} (listening)): no listener`.slice(0, 70)],
    ['info', `sd-activate: listener "web": adopted inherited fd 3 (tcp 127.0.0.1:${t.port}, via 127.0.0.1)`.slice(0, 70)],
  ], 'a logger given gets the info lines and every warning');
  assert.doesNotMatch((await mine.stop()).stderr, /sd-activate: listener/);
});

test('when stderr is the journal (JOURNAL_STREAM), lines carry their priority: <6> info, <4> for every warning', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const junk = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } }, journal: true, options: { defaultWarnings: true } },
    { fds: [s.fd, junk.fd] });
  const { stderr } = await app.stop();
  assert.match(stderr, /^<6>sd-activate: listener "web": adopted inherited fd 3 /m);
  assert.match(stderr, /^<4>sd-activate: rejected inherited fd 4 /m, 'journalctl -p warning shows the rejection');
});

test('a unit that contradicts the app: the address the manager holds is a coded configuration error (exit status 78), not EADDRINUSE', async () => {
  const held = openSocket('tcp', '0.0.0.0', 0); // the test keeps its copy, as the manager does
  const app = await startApp({ config: { web: { port: held.port, bind: '127.0.0.1' } } }, { fds: [held.fd], keep: true });
  try {
    const r = app.ready;
    const codes = r.warnings.map((w) => w.code);
    assert.deepEqual(codes, ['SD_ACTIVATE_REJECTED_FD', 'SD_ACTIVATE_ADDRESS_HELD']);
    const w = r.warnings[1];
    assert.match(w.message, new RegExp(`listener "web" cannot bind 127\\.0\\.0\\.1:${held.port} \\(the manager holds tcp 0\\.0\\.0\\.0:${held.port}, inherited fd 3, rejected\\)`));
    assert.match(w.message, /ListenStream=.*RestartPreventExitStatus=78/);
    assert.equal(r.errors.web.code, 'ERR_SD_ADDRESS_HELD');
    assert.equal(r.errors.web.exitCode, 78);
    assert.equal(r.errors.web.message, w.message.replace(/^sd-activate: /, ''));
    assert.deepEqual(r.report.listeners.web.held, [`127.0.0.1:${held.port}`]);
    assert.deepEqual(r.report.listeners.web.targets, [{ port: held.port, host: '127.0.0.1' }]);
  } finally {
    await app.stop();
    native.close(held.fd);
  }
  // A rejected socket on another address of the port holds nothing the listener binds.
  const elsewhere = openSocket('tcp', '127.0.0.2', 0);
  const ok = await startApp({ config: { web: { port: elsewhere.port, bind: '127.0.0.1' } } }, { fds: [elsewhere.fd] });
  assert.deepEqual(ok.ready.warnings.map((x) => x.code), ['SD_ACTIVATE_REJECTED_FD']);
  assert.equal(await probe({ host: '127.0.0.1', port: elsewhere.port }), 'web');
  await ok.stop();
});

test('a refused re-bind is logged as a warning as well as thrown', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const app = await startApp({ config: { web: { port: s.port, bind: '127.0.0.1' } }, rebind: { web: { port: 0, bind: '127.0.0.1' } } }, { fds: [s.fd] });
  try {
    assert.equal(app.ready.rebind.web.code, 'ERR_SD_REBIND_INHERITED');
    const w = app.ready.warnings.filter((x) => x.code === 'SD_ACTIVATE_REBIND_REFUSED');
    assert.equal(w.length, 1);
    assert.match(w[0].message, /^sd-activate: rebind\(\) refused: listener "web" serves socket\(s\) inherited .*Change ListenStream=/);
  } finally {
    await app.stop();
  }
});

test('an adopted unix socket whose path is gone or replaced is served, with a warning', async (t) => {
  const dir = tmpdir(t);
  const gone = path.join(dir, 'gone.sock');
  const replaced = path.join(dir, 'replaced.sock');
  const a = openSocket('unix', gone);
  const b = openSocket('unix', replaced);
  fs.unlinkSync(gone);
  fs.unlinkSync(replaced);
  fs.writeFileSync(replaced, 'not a socket');
  const app = await startApp({ config: { a: { path: gone }, b: { path: replaced } } }, { fds: [a.fd, b.fd] });
  try {
    const w = app.ready.warnings.filter((x) => x.code === 'SD_ACTIVATE_SOCKET_PATH_GONE');
    assert.equal(w.length, 2);
    assert.match(w[0].message, new RegExp(`fd 3 .*"a", but ${gone.replace(/[.]/g, '\\.')} no longer exists`));
    assert.match(w[1].message, /fd 4 .*"b", but .* is now a regular file/);
    assert.deepEqual(app.ready.targets.a, [fdT(3)]);
    assert.equal(fs.readFileSync(replaced, 'utf8'), 'not a socket', 'never unlinked');
  } finally {
    await app.stop();
  }
});

