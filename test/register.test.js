// SPDX-License-Identifier: MIT
'use strict';
// The zero-code preload (sd-activate/register), the way systemd calls an
// unmodified app: real sockets at fds 3, 4, ... of a real child whose
// LISTEN_PID is its own pid, the app's own listen() calls, and the preload
// given with --require / --import. What a test asserts is read from the
// child's /proc (inodes), from the sockets themselves (connect, ss) and from
// the child's stderr (the coded warnings).
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { openSocket, startChild, freePort } = require('./helpers/child');
const { SOMAXCONN, slack, tmpdir } = require('./helpers/common');
const { startReceiver } = require('./helpers/receiver');
const http = require('./helpers/http');

const ROOT = path.join(__dirname, '..');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
const PRELOAD = ['--require', REGISTER];

/** The inode of a socket fd of this process, as /proc/<pid>/fd shows it. */
function inodeOf(fd) {
  return `socket:[${fs.fstatSync(fd).ino}]`;
}

/** Run preload-app with `steps` and the sockets `fds`; resolves with its report (the last JSON line) and stderr. */
async function runApp({ fds = [], steps, env = {}, nodeArgs = PRELOAD, names, ...rest }) {
  const inodes = fds.map(inodeOf);
  const r = await startChild({ fds, names, env: { SD_ACTIVATE_SETTLE_MS: '100', ...env }, script: 'preload-app.js',
    args: [JSON.stringify(steps)], nodeArgs, ...rest }).done;
  assert.equal(r.code, 0, `preload-app failed: ${r.stderr}`);
  return { ...r, report: r.json, inodes };
}

/** GET over a fresh connection: the body, or the error code. */
const get = async (port, host, pathName) => {
  const r = await http.get(port, host, pathName, 3000);
  return r.error ?? r.body;
};
const { unanswered } = http;

const warnings = (stderr, code) => stderr.split('\n').filter((l) => l.includes(`[${code}]`));

describe('listen() forms: the call names what it authorises, and listens on the inherited socket', () => {
  const forms = [
    ['listen(port, host, cb)', (p) => [p, '127.0.0.1']],
    ['listen(port as a string) (app.listen(process.env.PORT))', (p) => [String(p)]],
    ['listen({ port, host })', (p) => [{ port: p, host: '127.0.0.1' }]],
    ['listen({ port: "P", host, path: false }) (SvelteKit)', (p) => [{ path: false, host: '127.0.0.1', port: String(p) }]],
    ['listen(port) with no host: any address', (p) => [p]],
    ['listen(port, "localhost"): resolved as Node resolves it', (p) => [p, 'localhost']],
  ];
  for (const [title, args] of forms) {
    test(title, async () => {
      // localhost is what this machine's resolver says first (127.0.0.1, or ::1 where /etc/hosts lists it first).
      const ip = title.includes('localhost') ? (await require('node:dns').promises.lookup('localhost')).address : '127.0.0.1';
      const s = openSocket('tcp', ip, 0);
      const port = s.port;
      const r = await runApp({ fds: [s.fd], steps: [{ op: 'listen', id: 'a', args: args(port), cb: true }, { op: 'report' }] });
      const a = r.report.servers.a;
      assert.equal(a.error, null);
      assert.equal(a.cb, true, 'the callback ran');
      assert.equal(a.listening, true);
      assert.deepEqual([a.address.address, a.address.port], [ip, port], 'server.address() is the inherited socket\'s');
      assert.equal(a.inode, r.inodes[0], 'the server listens on the inherited socket (same inode)');
      assert.notEqual(a.fd, 3, 'on a duplicate: fd 3 itself stays open for a later listen()');
      assert.equal(r.report.fds['3'], r.inodes[0]);
      assert.match(r.stderr, /adopted inherited fd 3 \(tcp /);
      assert.equal(warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD').length, 0, r.stderr);
      assert.equal(r.report.env.LISTEN_FDS, null, 'the environment was consumed');
    });
  }

  test('a unix path: adopted, and never unlinked (not by close, not at exit)', async (t) => {
    const dir = tmpdir(t);
    const file = path.join(dir, 'app.sock');
    const s = openSocket('unix', file);
    const r = await runApp({ fds: [s.fd], steps: [{ op: 'listen', id: 'u', args: [file] }, { op: 'report' }, { op: 'close', id: 'u' }] });
    assert.equal(r.report.servers.u.inode, r.inodes[0]);
    assert.equal(r.report.servers.u.address, file);
    assert.ok(fs.lstatSync(file).isSocket(), 'the inherited socket file is still there');
  });

  test('the backlog follows net.core.somaxconn (as activate() does), or the backlog the call gives', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0, { backlog: 16 });
    const b = openSocket('tcp', '127.0.0.1', 0, { backlog: 16 });
    const child = startChild({ fds: [a.fd, b.fd], env: { SD_ACTIVATE_SETTLE_MS: '100' }, script: 'preload-app.js', nodeArgs: PRELOAD,
      args: [JSON.stringify([{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'listen', id: 'b', args: [b.port, '127.0.0.1', 77] },
        { op: 'report' }, { op: 'serve' }])] });
    try {
      const ss = (port) => execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim().split(/\s+/);
      await waitFor(() => Number(ss(b.port)[2]) !== 16);
      assert.equal(Number(ss(a.port)[2]), SOMAXCONN, 'Send-Q of a listening socket is its backlog');
      assert.equal(Number(ss(b.port)[2]), 77);
    } finally {
      child.proc.kill('SIGKILL');
      await child.done;
    }
  });
});

async function waitFor(pred, ms = 5000) {
  const end = Date.now() + slack(ms);
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('the policy: nothing is served that no listen() authorised', () => {
  test('an extra inherited socket no call asks for is never served, warned at the settle moment, and kept open', async () => {
    const web = openSocket('tcp', '127.0.0.1', 0);
    const extra = openSocket('tcp', '127.0.0.1', 0);
    const child = startChild({ fds: [web.fd, extra.fd], env: { SD_ACTIVATE_SETTLE_MS: '100' }, script: 'preload-app.js', nodeArgs: PRELOAD,
      args: [JSON.stringify([{ op: 'listen', id: 'web', args: [web.port, '127.0.0.1'] }, { op: 'serve' }])] });
    let stderr = '';
    child.proc.stderr.on('data', (d) => { stderr += d; });
    try {
      await waitFor(() => /SD_ACTIVATE_REJECTED_FD/.test(stderr));
      assert.match(await get(web.port), /^web \d+/);
      assert.equal(await unanswered(extra.port), true, 'the kernel queues the connection, nobody accepts it');
      const [w] = warnings(stderr, 'SD_ACTIVATE_REJECTED_FD');
      assert.match(w, new RegExp(`rejected inherited fd 4 \\(tcp 127\\.0\\.0\\.1:${extra.port} \\(listening\\)\\): no listener is configured for tcp port ${extra.port}; kept it open and unserved`));
      const fds = fs.readdirSync(`/proc/${child.proc.pid}/fd`);
      assert.ok(fds.includes('4'), 'fd 4 is kept (a late listen() may still adopt it)');
    } finally {
      child.proc.kill('SIGKILL');
      await child.done;
    }
  });

  test('a late listen() (after the settle moment) still adopts the socket, without EADDRINUSE', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const b = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd, b.fd], steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 400 },
      { op: 'listen', id: 'late', args: [b.port, '127.0.0.1'] }, { op: 'report' }] });
    assert.equal(warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD').length, 1, 'warned at the settle moment');
    assert.equal(r.report.servers.late.error, null);
    assert.equal(r.report.servers.late.inode, r.inodes[1]);
    assert.match(r.stderr, /listen\(127\.0\.0\.1:\d+\): adopted inherited fd 4 .*after the settle moment/);
  });

  test('listen, close, listen (the same server, then a new one): each adopts the inherited socket again', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], steps: [
      { op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'close', id: 'a' },
      { op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'close', id: 'a' },
      { op: 'listen', id: 'b', args: [{ port: a.port, host: '127.0.0.1' }] }, { op: 'report' }] });
    assert.equal(r.report.servers.a.error, null);
    assert.equal(r.report.servers.b.error, null);
    assert.equal(r.report.servers.b.inode, r.inodes[0]);
    assert.equal(r.report.fds['3'], r.inodes[0], 'fd 3 survived both closes');
  });

  test('one call covering two inherited sockets takes the widest, the next call takes the other (Fastify\'s pattern)', async () => {
    const v4 = openSocket('tcp', '127.0.0.1', 0);
    let v6;
    try {
      v6 = openSocket('tcp', '::1', v4.port);
    } catch {
      return; // no IPv6 loopback here
    }
    const r = await runApp({ fds: [v4.fd, v6.fd], steps: [{ op: 'listen', id: 'any', args: [{ port: v4.port }] }, { op: 'wait', ms: 300 },
      { op: 'listen', id: 'six', args: [{ port: v4.port, host: '::1' }] }, { op: 'report' }] });
    assert.equal(r.report.servers.any.inode, r.inodes[0], 'equal width: the first in LISTEN_FDS order');
    assert.equal(r.report.servers.six.inode, r.inodes[1]);
    const [w] = warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD');
    assert.match(w, /fd 4 .*listen\(\d+\) covers it too, but serves fd 3 \(one listen\(\) call serves one socket/);
  });

  test('a socket wider than the call allows is not adopted: the call binds, fails with EADDRINUSE, and the warning says why', async () => {
    const wide = openSocket('tcp', '0.0.0.0', 0);
    const r = await runApp({ fds: [wide.fd], steps: [{ op: 'listen', id: 'a', args: [wide.port, '127.0.0.1'] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.a.error, 'EADDRINUSE');
    const [w] = warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD');
    assert.match(w, /it exposes any IPv4 address, more than listener "listen\(127\.0\.0\.1:\d+\)" allows \(bind 127\.0\.0\.1\)/);
  });

  test('listen(0) and the app\'s own listen({ fd }) pass through; an own listen({ fd: 3 }) claims fd 3', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], steps: [{ op: 'listen', id: 'own', args: [{ fd: 3 }] }, { op: 'listen', id: 'eph', args: [0, '127.0.0.1'] },
      { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.own.fd, 3, 'fd 3 itself, as the app asked');
    assert.notEqual(r.report.servers.eph.address.port, a.port);
    assert.notEqual(r.report.servers.eph.inode, r.inodes[0]);
    assert.equal(warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD').length, 0, r.stderr);
  });

  test('a listen() of a port nothing was inherited for binds itself, as without the preload', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const other = freePort();
    const r = await runApp({ fds: [a.fd], steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] },
      { op: 'listen', id: 'own', args: [other, '127.0.0.1'] }, { op: 'report' }] });
    assert.equal(r.report.servers.own.address.port, other);
    assert.match(r.stderr, new RegExp(`listen\\(127\\.0\\.0\\.1:${other}\\): binds itself \\(no inherited socket for it\\)`));
  });

  test('SD_ACTIVATE_FDNAMES: a listen() address takes the socket of that name, on the port the unit gave it', async () => {
    const named = openSocket('tcp', '127.0.0.1', 0);
    const asked = freePort();
    const r = await runApp({ fds: [named.fd], names: ['web'], env: { SD_ACTIVATE_FDNAMES: `web=${asked}` },
      steps: [{ op: 'listen', id: 'a', args: [asked, '127.0.0.1'] }, { op: 'report' }] });
    assert.equal(r.report.servers.a.inode, r.inodes[0]);
    assert.equal(r.report.servers.a.address.port, named.port);
    assert.match(r.stderr, /adopted inherited fd 3 named "web"/);
  });

  test('a host name being resolved, then close() or listen() again: as Node, the first call is moot (no crash, nothing served)', async () => {
    const ip = (await require('node:dns').promises.lookup('localhost')).address;
    const a = openSocket('tcp', ip, 0);
    const r = await runApp({ fds: [a.fd], steps: [
      { op: 'calls', id: 'closed', calls: [['listen', a.port, 'localhost'], ['close']] },
      { op: 'calls', id: 'twice', calls: [['listen', a.port, 'localhost'], ['listen', a.port, 'localhost']] },
      { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.closed.listening, false, 'a server closed while its host was being resolved does not listen');
    assert.equal(r.report.servers.twice.thrown, null);
    assert.equal(r.report.servers.twice.error, null);
    assert.equal(r.report.servers.twice.inode, r.inodes[0], 'the second call adopted the socket');
  });

  test('close() ends the claim at once: a new server adopts while the old one still has a connection open', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], steps: [
      { op: 'listen', id: 'old', args: [a.port, '127.0.0.1'] }, { op: 'connect', port: a.port },
      { op: 'calls', id: 'old', calls: [['close']] },
      { op: 'listen', id: 'new', args: [a.port, '127.0.0.1'] }, { op: 'report' }] });
    assert.equal(r.report.servers.new.error, null);
    assert.equal(r.report.servers.new.inode, r.inodes[0]);
  });

  test('listen({ handle: { fd: 3 } }) is the app naming fd 3 itself, as Node reads it', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], steps: [{ op: 'listen', id: 'h', args: [{ handle: { fd: 3 } }] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.h.fd, 3);
    assert.equal(warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD').length, 0, r.stderr);
  });

  test('SD_ACTIVATE_FDNAMES for a path takes a unix socket of that name, never an Internet one', async (t) => {
    const file = path.join(tmpdir(t), 'admin.sock');
    const tcp = openSocket('tcp', '0.0.0.0', 0);
    const r = await runApp({ fds: [tcp.fd], names: ['admin'], env: { SD_ACTIVATE_FDNAMES: `admin=${file}` },
      steps: [{ op: 'listen', id: 'admin', args: [file] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.admin.address, file, 'it bound its own path');
    assert.notEqual(r.report.servers.admin.inode, r.inodes[0]);
    assert.equal(warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD').length, 1, 'the named TCP socket is unserved, and warned about');
  });

  test('an inherited datagram socket is closed with a warning (the preload serves listen() calls only)', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const u = openSocket('udp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd, u.fd], steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    const [w] = warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD');
    assert.match(w, /fd 4 \(udp 127\.0\.0\.1:\d+\): it is a datagram socket.*closed it/);
    assert.equal(r.report.fds['4'], undefined);
  });
});

describe('READY=1, the environment children see, and the graceful stop', () => {
  test('READY=1 with STATUS at the settle moment; children inherit neither NOTIFY_SOCKET nor the preload', async () => {
    const recv = await startReceiver();
    try {
      const a = openSocket('tcp', '127.0.0.1', 0);
      const r = await runApp({ fds: [a.fd], env: { NOTIFY_SOCKET: recv.address, NODE_OPTIONS: `--require ${REGISTER} --max-http-header-size=20000` },
        nodeArgs: [], steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 300 },
          { op: 'spawn', code: 'console.log(JSON.stringify([process.env.NOTIFY_SOCKET ?? null, process.env.NODE_OPTIONS ?? null]))' },
          { op: 'report' }] });
      const m = await recv.next((x) => x.text.includes('READY=1'));
      assert.match(m.text, new RegExp(`STATUS=Listening on 127\\.0\\.0\\.1:${a.port}`));
      assert.equal(m.pid, r.pid, 'sent by the app itself');
      assert.deepEqual(JSON.parse(r.report.spawned[0]), [null, '--max-http-header-size=20000']);
      assert.equal(r.report.env.NOTIFY_SOCKET, null);
    } finally {
      recv.close();
    }
  });

  test('SD_ACTIVATE_READY=0: no READY=1; a process that never listens neither sends READY nor closes a socket', async () => {
    const recv = await startReceiver();
    try {
      const a = openSocket('tcp', '127.0.0.1', 0);
      await runApp({ fds: [a.fd], env: { NOTIFY_SOCKET: recv.address, SD_ACTIVATE_READY: '0' },
        steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 400 }] });
      const b = openSocket('tcp', '127.0.0.1', 0);
      const idle = await runApp({ fds: [b.fd], env: { NOTIFY_SOCKET: recv.address }, steps: [{ op: 'wait', ms: 400 }, { op: 'report' }] });
      assert.equal(idle.report.env.LISTEN_FDS, null, 'the preload did load and take the sockets');
      assert.equal(idle.report.env.SD_ACTIVATE_TAKEN_BY, String(idle.pid));
      assert.equal(idle.report.env.NOTIFY_SOCKET, null);
      assert.equal(idle.report.fds['3'], idle.inodes[0], 'fd 3 untouched');
      assert.equal(idle.stderr.includes('SD_ACTIVATE_'), false, idle.stderr);
      await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(recv.messages.filter((x) => x.text.includes('READY=1')), []);
    } finally {
      recv.close();
    }
  });

  test('a wrapper that loads the preload but never listens: its child warns LISTEN_PID_MISMATCH naming it', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const code = `require('http').createServer().listen(${a.port}, '127.0.0.1').on('error', (e) => { console.log(e.code); process.exit(0); })` +
      '.on("listening", () => { console.log("listening"); process.exit(0); });';
    const r = await runApp({ fds: [a.fd], env: { NODE_OPTIONS: `--require ${REGISTER}` }, nodeArgs: [],
      steps: [{ op: 'spawn', code }, { op: 'report' }] });
    assert.deepEqual(r.report.spawned, ['EADDRINUSE'], 'the child cannot have the socket: the wrapper holds it');
    assert.equal(r.report.fds['3'], r.inodes[0], 'the wrapper closed nothing');
    assert.equal(r.report.env.SD_ACTIVATE_TAKEN_BY, String(r.pid));
    // execFileSync captures the child's stdout only: its warning is on the wrapper's stderr, which it inherits.
    assert.match(r.stderr, new RegExp(`\\[SD_ACTIVATE_LISTEN_PID_MISMATCH\\].*taken by pid ${r.pid} .*which loaded sd-activate/register but has not called listen\\(\\)`));
  });

  test('SD_ACTIVATE_GRACEFUL_STOP: SIGTERM sends STOPPING=1, lets the request in flight finish, and exits 0', async () => {
    const recv = await startReceiver();
    const a = openSocket('tcp', '127.0.0.1', 0);
    const child = startChild({ fds: [a.fd], env: { SD_ACTIVATE_SETTLE_MS: '100', SD_ACTIVATE_GRACEFUL_STOP: '5', NOTIFY_SOCKET: recv.address },
      script: 'preload-app.js', nodeArgs: PRELOAD, args: [JSON.stringify([{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'serve' }])] });
    try {
      await recv.next((x) => x.text.includes('READY=1'));
      let err = '';
      child.proc.stderr.on('data', (d) => { err += d; });
      const slow = get(a.port, '127.0.0.1', '/slow?ms=600');
      await waitFor(() => err.includes('preload-app: request a /slow'));
      child.proc.kill('SIGTERM');
      assert.match(await slow, /^a \d+/, 'the request in flight was answered');
      await recv.next((x) => x.text.includes('STOPPING=1'));
      const r = await child.done;
      assert.deepEqual([r.code, r.signal], [0, null]);
    } finally {
      recv.close();
    }
  });

  test('SD_ACTIVATE_GRACEFUL_STOP in a process that never listens (a wrapper): SIGTERM still kills it', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const child = startChild({ fds: [a.fd], env: { SD_ACTIVATE_GRACEFUL_STOP: '5' }, script: 'preload-app.js', nodeArgs: PRELOAD,
      args: [JSON.stringify([{ op: 'report' }, { op: 'serve' }])] });
    let out = '';
    child.proc.stdout.on('data', (d) => { out += d; });
    await waitFor(() => out.includes('"servers"'));
    child.proc.kill('SIGTERM');
    const r = await child.done;
    assert.equal(r.signal, 'SIGTERM');
  });

  test('without SD_ACTIVATE_GRACEFUL_STOP the preload changes no signal handling (SIGTERM kills)', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const child = startChild({ fds: [a.fd], env: { SD_ACTIVATE_SETTLE_MS: '100' }, script: 'preload-app.js', nodeArgs: PRELOAD,
      args: [JSON.stringify([{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 300 }, { op: 'report' }, { op: 'serve' }])] });
    let out = '';
    child.proc.stdout.on('data', (d) => { out += d; });
    await waitFor(() => out.includes('"servers"'));
    assert.match(out, /"servers"/, 'the app is up and past the settle moment');
    child.proc.kill('SIGTERM');
    const r = await child.done;
    assert.equal(r.signal, 'SIGTERM');
  });

  test('bad variables are warnings naming the variable and the value; the defaults apply', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], env: { SD_ACTIVATE_SETTLE_MS: 'soon', SD_ACTIVATE_READY: 'maybe', SD_ACTIVATE_GRACEFUL_STOP: '-1',
      SD_ACTIVATE_LOG: 'loud', SD_ACTIVATE_FDNAMES: 'web=notaport,=3000' }, steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 400 }, { op: 'report' }] });
    const w = warnings(r.stderr, 'SD_ACTIVATE_PRELOAD_CONFIG');
    assert.equal(w.length, 6, r.stderr);
    assert.ok(w.some((l) => /SD_ACTIVATE_FDNAMES entry "web=notaport" is not valid/.test(l)), r.stderr);
    assert.ok(w.some((l) => /SD_ACTIVATE_SETTLE_MS="soon" is not valid \(expected a number of milliseconds from 0 to 60000\); using 250/.test(l)), r.stderr);
    assert.equal(r.report.servers.a.inode, r.inodes[0], 'and it still adopts');
  });
});

describe('one owner per process', () => {
  test('activate() under the preload claims from the same pool: nothing is adopted twice, the app\'s listen() takes the rest', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const b = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd, b.fd], steps: [
      { op: 'activate', config: { http: { port: a.port, bind: '127.0.0.1' } }, listen: ['http'] },
      { op: 'listen', id: 'again', args: [a.port, '127.0.0.1'] },
      { op: 'listen', id: 'b', args: [b.port, '127.0.0.1'] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.http0.fd, 3, 'activate() adopted fd 3 (itself, as activation.listen does)');
    assert.equal(r.report.servers.again.error, 'EADDRINUSE', 'fd 3 is not adopted a second time');
    assert.equal(r.report.servers.b.inode, r.inodes[1]);
    assert.equal(warnings(r.stderr, 'SD_ACTIVATE_REJECTED_FD').length, 0, r.stderr);
  });

  test('activate() first, the preload later: the preload finds nothing to adopt again, and warns about nothing', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], nodeArgs: [], steps: [
      { op: 'activate', config: { http: { port: a.port, bind: '127.0.0.1' } }, listen: ['http'] },
      { op: 'require', module: REGISTER },
      { op: 'listen', id: 'again', args: [a.port, '127.0.0.1'] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    assert.equal(r.report.servers.http0.fd, 3);
    assert.equal(r.report.servers.again.error, 'EADDRINUSE', 'not adopted twice');
    assert.equal(r.stderr.includes('[SD_ACTIVATE_'), false, r.stderr);
  });

  test('two installed copies: the second copy\'s preload steps aside, its activate() uses the first\'s', async (t) => {
    const dir = tmpdir(t);
    const copy = path.join(dir, 'node_modules', 'sd-activate');
    fs.mkdirSync(copy, { recursive: true });
    fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ ...pkg, version: '0.0.1-copy', scripts: {} }));
    fs.symlinkSync(path.join(ROOT, 'build'), path.join(copy, 'build'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], nodeArgs: [...PRELOAD, '--require', path.join(copy, 'dist', 'register.js')], steps: [
      { op: 'activate', from: copy, config: { http: { port: a.port, bind: '127.0.0.1' } }, listen: ['http'] }, { op: 'wait', ms: 300 }, { op: 'report' }] });
    const w = warnings(r.stderr, 'SD_ACTIVATE_SECOND_COPY');
    assert.equal(w.length, 2, r.stderr);
    assert.match(w[0], /sd-activate\/register from .*0\.0\.1-copy.* steps aside/);
    assert.match(w[1], /two copies of sd-activate are loaded/);
    assert.equal(r.report.servers.http0.fd, 3, 'the first copy\'s activate() adopted fd 3, once');
  });

  test('--import sd-activate/register resolves through the package exports, and --require plus --import loads it once', async () => {
    const a = openSocket('tcp', '127.0.0.1', 0);
    const r = await runApp({ fds: [a.fd], cwd: ROOT, nodeArgs: ['--import', 'sd-activate/register', ...PRELOAD],
      steps: [{ op: 'listen', id: 'a', args: [a.port, '127.0.0.1'] }, { op: 'report' }] });
    assert.equal(r.report.servers.a.inode, r.inodes[0]);
    assert.equal((r.stderr.match(/adopted inherited fd 3/g) ?? []).length, 1);
    assert.equal(warnings(r.stderr, 'SD_ACTIVATE_SECOND_COPY').length, 0);
  });
});

describe('node:cluster under the preload (round-robin): the workers\' listen() calls are the primary\'s listener config', () => {
  const app = (port) => `const cluster = require('node:cluster');
      if (cluster.isPrimary) {
        const up = new Set();
        for (let i = 0; i < 2; i++) cluster.fork().on('listening', function () { up.add(this.process.pid); if (up.size === 2) console.log(JSON.stringify({ ready: [...up] })); });
        process.on('SIGTERM', () => cluster.disconnect(() => process.exit(0)));
      } else { require('http').createServer((q, r) => r.end(String(process.pid))).listen(${port}, '127.0.0.1'); }`;

  async function cluster(t, fds, port, policy = 'rr') {
    const file = path.join(tmpdir(t), 'cluster-app.js');
    fs.writeFileSync(file, app(port));
    const child = startChild({ fds, env: { SD_ACTIVATE_SETTLE_MS: '100', NODE_CLUSTER_SCHED_POLICY: policy }, script: file, nodeArgs: PRELOAD });
    t.after(() => { if (child.proc.exitCode === null) child.proc.kill('SIGKILL'); });
    let out = '';
    let err = '';
    child.proc.stdout.on('data', (d) => { out += d; });
    child.proc.stderr.on('data', (d) => { err += d; });
    await waitFor(() => out.includes('ready') && /SD_ACTIVATE_REJECTED_FD|adopted|binds itself/.test(err));
    await new Promise((r) => setTimeout(r, 300)); // past the settle moment
    return { child, ready: JSON.parse(out.split('\n')[0]).ready, stderr: () => err };
  }

  for (const policy of ['rr', 'none']) {
    test(`${policy}: the workers' port: adopted by the primary for its workers, answered by them; the extra socket unserved; no worker warns`, async (t) => {
      const web = openSocket('tcp', '127.0.0.1', 0);
      const extra = openSocket('tcp', '127.0.0.1', 0);
      const inode = inodeOf(web.fd);
      const c = await cluster(t, [web.fd, extra.fd], web.port, policy);
      for (let i = 0; i < 6; i++) {
        const body = await get(web.port);
        assert.ok(c.ready.includes(Number(body)), `answered by a worker: ${body} (workers ${c.ready})`);
      }
      const ls = execFileSync('ss', ['-ltneH', `sport = :${web.port}`], { encoding: 'utf8' }).trim().split('\n');
      assert.equal(ls.length, 1, 'one listening socket on the port: the inherited one');
      assert.match(ls[0], new RegExp(`ino:${inode.slice(8, -1)}`));
      if (policy === 'none') {
        for (const pid of c.ready) assert.ok(Object.values(fs.readdirSync(`/proc/${pid}/fd`)).some((f) => fs.readlinkSync(`/proc/${pid}/fd/${f}`) === inode), `worker ${pid} holds the shared socket`);
      }
      assert.equal(await unanswered(extra.port), true);
      assert.equal((c.stderr().match(/listen\(127\.0\.0\.1:\d+\) for the cluster workers: adopted inherited fd 3/g) ?? []).length, 1, 'one claim for both workers');
      assert.equal(warnings(c.stderr(), 'SD_ACTIVATE_REJECTED_FD').length, 1);
      assert.equal(warnings(c.stderr(), 'SD_ACTIVATE_LISTEN_PID_MISMATCH').length, 0, c.stderr());
      c.child.proc.kill('SIGTERM');
      assert.equal((await c.child.done).code, 0);
    });
    }

  test('a port nothing was inherited for: the primary binds it for the workers, as without the preload', async (t) => {
    const inherited = openSocket('tcp', '127.0.0.1', 0);
    const own = freePort();
    const c = await cluster(t, [inherited.fd], own);
    assert.ok(c.ready.includes(Number(await get(own))));
    assert.match(c.stderr(), new RegExp(`listen\\(127\\.0\\.0\\.1:${own}\\) for the cluster workers: binds itself`));
    c.child.proc.kill('SIGTERM');
    await c.child.done;
  });
});

test('NODE_OPTIONS without the preload: every spelling of it goes, everything else stays as Node would read it', () => {
  const { withoutPreload, splitNodeOptions } = require('../dist/preload/node-options');
  const spaced = '/opt/my apps/node_modules/sd-activate/dist/register.js';
  assert.equal(withoutPreload(`--import sd-activate/register --max-old-space-size=64`), '--max-old-space-size=64');
  assert.equal(withoutPreload(`-r ${REGISTER} --require=${REGISTER} --import=sd-activate/register --inspect`), '--inspect');
  assert.equal(withoutPreload(`--require "${spaced}" --title "a b"`), '--title "a b"');
  assert.equal(withoutPreload('--require ./other.js --import sd-activate'), '--require ./other.js --import sd-activate');
  assert.deepEqual(splitNodeOptions('--title "a \\"b\\" c"  -r x'), ['--title', 'a "b" c', '-r', 'x']);
});

test('listen() calls are read as Node reads them', () => {
  const { readListenCall } = require('../dist/preload/listen-call');
  const cb = () => {};
  const pick = (c) => (c.kind === 'inet' ? [c.kind, c.port, c.host, c.backlog, Boolean(c.cb)] : c.kind === 'path' ? [c.kind, c.path, c.backlog] : c.kind === 'fd' ? [c.kind, c.fd] : [c.kind]);
  assert.deepEqual(pick(readListenCall([3000, '127.0.0.1', 100, cb])), ['inet', 3000, '127.0.0.1', 100, true]);
  assert.deepEqual(pick(readListenCall(['3000'])), ['inet', 3000, undefined, undefined, false]);
  assert.deepEqual(pick(readListenCall([3000, undefined])), ['inet', 3000, undefined, undefined, false]);
  assert.deepEqual(pick(readListenCall([{ port: '8080', host: '', backlog: 9 }])), ['inet', 8080, undefined, 9, false]);
  assert.deepEqual(pick(readListenCall([{ path: false, host: '0.0.0.0', port: '5173' }, cb])), ['inet', 5173, '0.0.0.0', undefined, true]);
  assert.deepEqual(pick(readListenCall(['/run/app.sock', 64])), ['path', '/run/app.sock', 64]);
  assert.deepEqual(pick(readListenCall([{ fd: 3 }])), ['fd', 3]);
  assert.deepEqual(pick(readListenCall([{ handle: { fd: 4 } }])), ['fd', 4]);
  for (const args of [[], [cb], [0], [null], [undefined], [{ port: undefined }], [-1], [65536], ['  '], [1.5], [{ handle: {} }], [{ _handle: { fd: -1 } }], [{}], [{ port: 80, host: 5 }]]) {
    assert.equal(readListenCall(args).kind, 'other', JSON.stringify(args));
  }
});

test('the preload entry is in the package exports, and the command is documented to add it', () => {
  const pkg = require('../package.json');
  assert.deepEqual(pkg.exports['./register'], { types: './dist/register.d.ts', default: './dist/register.js' });
  const out = spawnSync(process.execPath, ['-e', 'require.resolve("sd-activate/register")'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
});

describe('the sd-activate command adds the preload for a node command', () => {
  const { startCli } = require('./helpers/cli');
  const app = (port) => `require('http').createServer((q, r) => r.end('ok ' + process.pid)).listen(${port}, '127.0.0.1')`;

  /** Run `sd-activate -l 127.0.0.1:P <argv>`, GET once; what the command said and the answer. */
  async function underCommand(t, argv, extra = []) {
    const port = freePort();
    const h = startCli([...extra, '-l', `127.0.0.1:${port}`, '--', ...argv(port)], { preload: true, env: { SD_ACTIVATE_SETTLE_MS: '100' } });
    t.after(() => h.kill());
    await h.waitFor(/started pid \d+/);
    const body = await get(port);
    await h.stop();
    return { stderr: h.stderr.join('\n'), body };
  }

  test('node ...: adopted through the preload, given as an absolute path in NODE_OPTIONS', async (t) => {
    const r = await underCommand(t, (p) => [process.execPath, '-e', app(p)]);
    assert.match(r.stderr, new RegExp(`adding the zero-code preload to .*NODE_OPTIONS \\(--require ${REGISTER.replace(/[.]/g, '\\.')};`));
    assert.match(r.stderr, /listen\(127\.0\.0\.1:\d+\): adopted inherited fd 3/);
    assert.match(r.body, /^ok \d+/);
  });

  test('a script whose #! line is "/usr/bin/env -S node --flags": the preload is added too', async (t) => {
    const dir = tmpdir(t);
    const file = path.join(dir, 'server');
    fs.writeFileSync(file, `#!/usr/bin/env -S node --no-warnings\n${app('process.argv[2]')}\n`, { mode: 0o755 });
    const r = await underCommand(t, (p) => [file, String(p)]);
    assert.match(r.stderr, /adopted inherited fd 3/);
    assert.match(r.body, /^ok \d+/);
  });

  test('anything else (sh -c) and --no-preload: the command is left alone', async (t) => {
    const sh = await underCommand(t, (p) => ['/bin/sh', '-c', `exec ${process.execPath} -e "${app(p)}" 2>&1`]);
    assert.doesNotMatch(sh.stderr, /adding the zero-code preload/);
    const off = await underCommand(t, (p) => [process.execPath, '-e', app(p)], ['--no-preload']);
    assert.doesNotMatch(off.stderr, /adding the zero-code preload|adopted inherited/);
    assert.match(off.stderr, /EADDRINUSE/, 'without it, an unmodified app cannot bind the port the command holds');
  });
});

test('SD_ACTIVATE_GRACEFUL_STOP with the app\'s own lifecycle(): the preload closes, lifecycle() finishes its onStop and exits', async () => {
  const { openSocket, startChild } = require('./helpers/child');
  const s = openSocket('tcp', '127.0.0.1', 0);
  const c = startChild({ fds: [s.fd], script: 'preload-lifecycle-app.js', nodeArgs: ['--require', require.resolve('../dist/register.js')],
    timeout: 20000, env: { PORT: String(s.port), SD_ACTIVATE_GRACEFUL_STOP: '5' } });
  let out = '';
  await new Promise((resolve) => c.proc.stdout.on('data', (d) => { out += d; if (out.includes('"ready"')) resolve(); }));
  c.proc.kill('SIGTERM');
  const r = await c.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\{"flushed":true\}\n\{"exit":0\}/, 'onStop ran to its end before the exit');
});
