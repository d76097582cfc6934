// SPDX-License-Identifier: MIT
'use strict';
// Every primitive of the native layer (lib/binding.ts NativeBinding) and the
// typed facade over it (lib/sockets.ts), positive and negative for every
// parameter. Inherited sockets are real sockets placed at fds 3, 4, ... of a
// real child whose LISTEN_PID is its own pid, as systemd does it. Runs once
// per backend (npm test sets SD_ACTIVATE_BACKEND).
const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const native = require('./helpers/native');
const { openSocket, runChild, startChild } = require('./helpers/child');
const sd = require('../dist');

const EVAL = path.join(__dirname, 'fixtures', 'native-eval.js');
const O_CLOEXEC = 0o2000000;
const E = { EBADF: -9, EINVAL: -22, ERANGE: -34, ENOENT: -2, EADDRINUSE: -98 };

/** Run `body` (an async function body, see fixtures/native-eval.js) in a child. */
async function child(body, options = {}) {
  const r = await runChild({ ...options, script: EVAL, args: [body, ...(options.args || [])] });
  assert.equal(r.code, 0, `child failed: ${r.stderr}`);
  return r.json;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-native-'));
after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describe('backend', () => {
  test('the backend npm test asked for is the one that loaded', () => {
    const want = process.env.SD_ACTIVATE_EXPECT_BACKEND;
    if (want) assert.equal(native.backend, want);
    assert.ok(['libsystemd', 'builtin'].includes(native.backend));
    assert.equal(sd.backend, native.backend);
    if (native.backend === 'libsystemd') {
      assert.ok(['linked', 'dlopen'].includes(native.linkage));
      assert.match(native.libsystemdVersion, /^\d+$/);
      assert.ok(fs.existsSync(native.libsystemdPath), native.libsystemdPath);
    } else {
      assert.equal(native.linkage, 'none');
      assert.equal(native.libsystemdPath, '');
      assert.equal(native.libsystemdVersion, '');
    }
  });

  test('the product addon exports exactly what lib/ calls; test-only primitives live in the test addon', () => {
    assert.deepEqual(Object.keys(native).sort(), ['NotifyReceiver', 'ReadableWatch', 'backend', 'barrierSend', 'booted', 'chooseBackendSoon', 'close',
      'describeSocket', 'dup', 'fileId', 'isSocketInet', 'isSocketUnix', 'libsystemdPath', 'libsystemdVersion', 'linkage',
      'listenFds', 'notify', 'notifyAddress', 'notifyState', 'openSocket', 'watchdogEnabled', 'writeText']);
    const testAddon = require('./helpers/test-addon');
    assert.equal(testAddon.backend, native.backend, 'the test addon runs the backend under test');
    for (const k of Object.keys(native)) assert.equal(typeof testAddon[k], typeof native[k], k);
    for (const k of ['notifyAsync', 'barrier']) assert.equal(typeof testAddon[k], 'function', k);
    const dir = path.join(__dirname, '..', 'build', 'Release');
    if (fs.existsSync(dir)) assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.node')), ['sd_activate.node']);
  });
});

describe('listenFds: inherited sockets at 3, 4, ... of a child', () => {
  test('three sockets with names: native result, names, facade list and what each fd is', async () => {
    const tcp = openSocket('tcp', '127.0.0.1', 0);
    const udp = openSocket('udp', '::1', 0);
    const sock = path.join(tmp, 'a.sock');
    const unix = openSocket('unix', sock);
    const out = await child(`
      const raw = native.listenFds();
      const list = sd.listenFds();
      return { raw, list, desc: list.map((f) => sd.describeSocket(f.fd)), pid: process.pid };
    `, { fds: [tcp.fd, udp.fd, unix.fd], names: ['web', 'dns', 'ctl'] });
    assert.deepEqual(out.raw, { result: 3, names: ['web', 'dns', 'ctl'] });
    assert.deepEqual(out.list, [{ fd: 3, name: 'web' }, { fd: 4, name: 'dns' }, { fd: 5, name: 'ctl' }]);
    assert.deepEqual(out.desc.map((d) => [d.fd, d.family, d.type, d.listening, d.address, d.port, d.path]), [
      [3, 'inet', 'stream', true, '127.0.0.1', tcp.port, ''],
      [4, 'inet6', 'dgram', false, '::1', udp.port, ''],
      [5, 'unix', 'stream', true, '', 0, sock],
    ]);
    // FD_CLOEXEC is checked below: Node already sets it on fds 3..16 at start-up.
  });

  // Node itself marks the run of open fds from 0 (up to at least 16)
  // close-on-exec at startup, before any JavaScript runs, so inherited fds
  // 3..16 never show what sd_listen_fds does. These tests leave fd 17 closed
  // at exec (Node stops there) and place more sockets at 18, 19, 20; the
  // child fills 17 (Node may already have, with one of its own fds) before
  // calling listenFds, so LISTEN_FDS=18 covers 3..20.
  async function childWithHole(body, { names, listenPid, listenFds = '18' } = {}) {
    const sock = (i) => openSocket(i % 2 ? 'tcp' : 'udp', '127.0.0.1', 0).fd;
    const fds = [...Array.from({ length: 14 }, (_, i) => sock(i)), 'ignore', sock(1), sock(2), sock(3)];
    const c = startChild({ script: EVAL, args: [`
      if (helpers.fdFlags(17) === null) helpers.fs.openSync('/dev/null');
      ${body}`], fds, keep: true, listenFds, names, listenPid });
    for (const fd of fds) if (typeof fd === 'number') native.close(fd);
    const r = await c.done;
    assert.equal(r.code, 0, `child failed: ${r.stderr}`);
    return r.json;
  }

  test('FD_CLOEXEC: clear as placed by the service manager, set on every inherited fd after the call', async () => {
    const out = await childWithHole(`
      const fds = Array.from({ length: 18 }, (_, i) => 3 + i);
      const before = fds.map(helpers.fdFlags);
      const r = native.listenFds();
      return { before, r: r.result, after: fds.map(helpers.fdFlags) };
    `);
    assert.deepEqual(out.before.slice(15).map((f) => f & O_CLOEXEC), [0, 0, 0], 'fds 18..20 arrive without FD_CLOEXEC');
    assert.equal(out.r, 18);
    assert.deepEqual(out.after.map((f) => f & O_CLOEXEC), new Array(18).fill(O_CLOEXEC));
  });

  test('names default to "unknown" without LISTEN_FDNAMES', async () => {
    const socks = [openSocket('tcp', '127.0.0.1', 0), openSocket('tcp', '127.0.0.1', 0)];
    const out = await child('return { raw: native.listenFds(), list: sd.listenFds() };', { fds: socks.map((s) => s.fd) });
    assert.deepEqual(out.raw, { result: 2, names: ['unknown', 'unknown'] });
    assert.deepEqual(out.list, [{ fd: 3, name: 'unknown' }, { fd: 4, name: 'unknown' }]);
  });

  test('empty name fields are kept as empty names (separators never coalesce)', async () => {
    const socks = [openSocket('tcp', '127.0.0.1', 0), openSocket('tcp', '127.0.0.1', 0), openSocket('udp', '127.0.0.1', 0)];
    const out = await child('return native.listenFds();', { fds: socks.map((s) => s.fd), names: '::' });
    assert.deepEqual(out, { result: 3, names: ['', '', ''] });
    const one = openSocket('tcp', '127.0.0.1', 0);
    const out1 = await child('return native.listenFds();', { fds: [one.fd], names: '' });
    assert.deepEqual(out1, { result: 1, names: [''] }, 'an empty LISTEN_FDNAMES is one empty name');
    const two = [openSocket('tcp', '127.0.0.1', 0), openSocket('tcp', '127.0.0.1', 0)];
    const out2 = await child('return native.listenFds();', { fds: two.map((s) => s.fd), names: 'a:' });
    assert.deepEqual(out2, { result: 2, names: ['a', ''] });
  });

  test('a backslash escapes the next character; a trailing backslash is EINVAL', async () => {
    const one = openSocket('tcp', '127.0.0.1', 0);
    const out = await child(`
      const r = [];
      for (const n of ['a\\\\:b', 'a\\\\\\\\', 'a\\\\x', 'x\\\\']) {
        process.env.LISTEN_FDNAMES = n;
        r.push(native.listenFds());
      }
      return r;
    `, { fds: [one.fd], names: 'x' });
    assert.deepEqual(out, [
      { result: 1, names: ['a:b'] },
      { result: 1, names: ['a\\'] },
      { result: 1, names: ['ax'] },
      { result: E.EINVAL, names: [] },
    ]);
  });

  test('LISTEN_FDNAMES count mismatch: EINVAL from native and a coded SystemError from the facade', async () => {
    const socks = [openSocket('tcp', '127.0.0.1', 0), openSocket('tcp', '127.0.0.1', 0)];
    const out = await child(`
      return { raw: native.listenFds(), facade: helpers.attempt(() => sd.listenFds()),
        again: helpers.attempt(() => sd.listenFds()), env: process.env.LISTEN_FDS ?? null };
    `, { fds: socks.map((s) => s.fd), names: ['only-one'] });
    assert.deepEqual(out.raw, { result: E.EINVAL, names: [] });
    for (const r of [out.facade, out.again]) {
      assert.equal(r.error.code, 'EINVAL');
      assert.equal(r.error.errno, E.EINVAL);
      assert.equal(r.error.syscall, 'sd_listen_fds_with_names');
      assert.match(r.error.message, /LISTEN_FDNAMES/);
    }
    assert.equal(out.env, null, 'consumed (and removed) even when malformed');
    const three = await child('return native.listenFds();', { fds: [openSocket('tcp', '127.0.0.1', 0).fd], names: 'a:b:c' });
    assert.deepEqual(three, { result: E.EINVAL, names: [] });
  });

  test('LISTEN_PID of another process: nothing inherited, environment still consumed', async () => {
    for (const pid of [process.pid, 1]) {
      const out = await childWithHole(`
        return { raw: native.listenFds(), list: sd.listenFds(), env: process.env.LISTEN_PID ?? null,
          flags: helpers.fdFlags(18) };
      `, { listenPid: pid });
      assert.deepEqual(out.raw, { result: 0, names: [] });
      assert.deepEqual(out.list, []);
      assert.equal(out.env, null);
      assert.equal(out.flags & O_CLOEXEC, 0, 'an fd not meant for us is left alone');
    }
  });

  test('nothing set, or LISTEN_FDS without LISTEN_PID, or LISTEN_PID without LISTEN_FDS: 0', async () => {
    const out = await child(`
      const r = [native.listenFds()];
      process.env.LISTEN_FDS = '1'; r.push(native.listenFds());
      delete process.env.LISTEN_FDS; process.env.LISTEN_PID = String(process.pid); r.push(native.listenFds());
      return r;
    `);
    assert.deepEqual(out, [{ result: 0, names: [] }, { result: 0, names: [] }, { result: 0, names: [] }]);
  });

  test('LISTEN_PID malformed: garbage EINVAL, 0 / negative / too large ERANGE, libsystemd number syntax accepted', async () => {
    const out = await child(`
      process.env.LISTEN_FDS = '1';
      const pid = process.pid;
      const values = ['abc', '', ' ', pid + 'x', pid + ' ', '0', '-1', '-' + pid, '4294967296', '99999999999999999999',
        ' ' + pid, '+' + pid, '0x' + pid.toString(16), '0o' + pid.toString(8), '0b' + pid.toString(2), '0' + pid.toString(8), '1.5e3'];
      return values.map((v) => { process.env.LISTEN_PID = v; return native.listenFds().result; });
    `, { fds: [openSocket('tcp', '127.0.0.1', 0).fd], listenFds: null, listenPid: null });
    assert.deepEqual(out, [E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.ERANGE, E.ERANGE, E.ERANGE, E.ERANGE,
      E.ERANGE, 1, 1, 1, 1, 1, 1, E.EINVAL]);
  });

  test('LISTEN_FDS of 0 / garbage / negative / huge: the libsystemd errors', async () => {
    const s = openSocket('tcp', '127.0.0.1', 0);
    const out = await child(`
      const values = ['0', 'abc', '', '-1', '-2147483648', '2147483645', '2147483647', '2147483648',
        '99999999999999999999', '2147483644', '1000', '1 ', ' 1', '0x1', '01', '+1', '1.0'];
      return values.map((v) => { process.env.LISTEN_FDS = v; return native.listenFds().result; });
    `, { fds: [s.fd] });
    assert.deepEqual(out, [
      E.EINVAL, // 0
      E.EINVAL, E.EINVAL, // garbage, empty
      E.EINVAL, E.EINVAL, // negative
      E.EINVAL, E.EINVAL, // above INT_MAX - 3
      E.ERANGE, E.ERANGE, // beyond int
      E.EBADF, E.EBADF, // in range, but the fds are not all open
      E.EINVAL, 1, 1, 1, 1, E.EINVAL, // whitespace after / before, 0x, octal, '+', fraction
    ]);
  });

  test('malformed LISTEN_FDS through the facade: SystemError with code, errno and syscall', async () => {
    for (const [value, code, errno] of [['0', 'EINVAL', E.EINVAL], ['nope', 'EINVAL', E.EINVAL],
      ['-3', 'EINVAL', E.EINVAL], ['4294967296', 'ERANGE', E.ERANGE], ['50', 'EBADF', E.EBADF]]) {
      const out = await child('return helpers.attempt(() => sd.listenFds());',
        { fds: [openSocket('tcp', '127.0.0.1', 0).fd], listenFds: value });
      assert.equal(out.error.code, code, value);
      assert.equal(out.error.errno, errno, value);
      assert.equal(out.error.syscall, 'sd_listen_fds_with_names');
      assert.ok(out.error.message.includes(JSON.stringify(value)), out.error.message);
    }
  });

  test('the environment is removed on consumption and not seen by a grandchild; nor are the fds', async () => {
    const body = (consume) => `
      ${consume}
      const { spawnSync } = helpers.require('node:child_process');
      // No pipeline in the shell: its pipe would show up as the shell's fds 3, 4.
      const g = spawnSync('/bin/sh', ['-c', 'echo "$LISTEN_PID|$LISTEN_FDS|$LISTEN_FDNAMES"; ls /proc/$$/fd'],
        { encoding: 'utf8' });
      const [env, ...fds] = g.stdout.trim().split('\\n');
      return { env, fds: fds.map(Number), own: process.env.LISTEN_FDS ?? null };
    `;
    const names = Array.from({ length: 18 }, (_, i) => `n${i}`);
    const consumed = await childWithHole(body('sd.listenFds();'), { names });
    assert.equal(consumed.env, '||');
    assert.equal(consumed.own, null);
    for (let fd = 3; fd <= 20; fd++) assert.ok(!consumed.fds.includes(fd), `grandchild has fd ${fd}: ${consumed.fds}`);

    // Control: without consumption the grandchild sees the environment and
    // fds 18..20 (so the checks above can fail).
    const control = await childWithHole(body(''), { names });
    assert.match(control.env, new RegExp(`^\\d+\\|18\\|${names.join(':')}$`));
    for (const fd of [18, 19, 20]) assert.ok(control.fds.includes(fd), `grandchild lacks fd ${fd}: ${control.fds}`);
  });

  test('unsetEnvironment: false keeps LISTEN_* (a grandchild sees them); the list is cached', async () => {
    const s = openSocket('tcp', '127.0.0.1', 0);
    const out = await child(`
      const first = sd.listenFds({ unsetEnvironment: false });
      const { spawnSync } = helpers.require('node:child_process');
      const g = spawnSync('/bin/sh', ['-c', 'echo "$LISTEN_PID|$LISTEN_FDS|$LISTEN_FDNAMES"'], { encoding: 'utf8' });
      process.env.LISTEN_FDNAMES = 'changed';
      const second = sd.listenFds();
      second[0].name = 'mutated';
      return { first, second: sd.listenFds(), grand: g.stdout.trim(), pid: process.pid };
    `, { fds: [s.fd], names: ['keep'] });
    assert.deepEqual(out.first, [{ fd: 3, name: 'keep' }]);
    assert.deepEqual(out.second, [{ fd: 3, name: 'keep' }], 'cached, and callers get copies');
    assert.equal(out.grand, `${out.pid}|1|keep`);
  });

  test('native.listenFds never touches the environment', async () => {
    const out = await child(`
      const before = { ...process.env };
      native.listenFds(); native.listenFds();
      return ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'].map((k) => process.env[k] === before[k] && k in process.env);
    `, { fds: [openSocket('tcp', '127.0.0.1', 0).fd], names: ['x'] });
    assert.deepEqual(out, [true, true, true]);
  });
});

describe('isSocketInet / isSocketUnix / describeSocket over every kind of fd', () => {
  // One child holds one fd of each kind at 3, 4, ...; the probes run there.
  let probe;
  const ports = {};
  const paths = {
    stream: path.join(tmp, 'stream.sock'), dgram: path.join(tmp, 'dgram.sock'), seq: path.join(tmp, 'seq.sock'),
    abstract: `@sdact-native-test-${process.pid}`, fifo: path.join(tmp, 'fifo'), file: path.join(tmp, 'file'),
  };
  before(async () => {
    const kinds = [
      ['tcp4', openSocket('tcp', '127.0.0.1', 0)], // 3
      ['tcp6only', openSocket('tcp', '::1', 0, { v6only: 1 })], // 4
      ['tcp6dual', openSocket('tcp', '::', 0, { v6only: 0 })], // 5
      ['udp4', openSocket('udp', '127.0.0.1', 0)], // 6
      ['udp6', openSocket('udp', '::1', 0)], // 7
      ['tcpbound', openSocket('tcp', '127.0.0.1', 0, { backlog: -1 })], // 8
      ['unix', openSocket('unix', paths.stream)], // 9
      ['abstract', openSocket('unix', paths.abstract)], // 10
      ['unixdgram', openSocket('unix-dgram', paths.dgram)], // 11
      ['seqpacket', openSocket('seqpacket', paths.seq)], // 12
    ];
    fs.writeFileSync(paths.file, 'x');
    assert.equal(spawnSync('mkfifo', [paths.fifo]).status, 0);
    const others = [
      ['file', fs.openSync(paths.file, 'r')], // 13
      ['fifo', fs.openSync(paths.fifo, fs.constants.O_RDWR)], // 14
      ['devnull', fs.openSync('/dev/null', 'r')], // 15
      ['dir', fs.openSync(tmp, 'r')], // 16
    ];
    for (const [k, s] of kinds) ports[k] = s.port;
    const fds = [...kinds.map(([, s]) => s.fd), ...others.map(([, fd]) => fd)];
    const names = [...kinds, ...others].map(([k]) => k);
    // The child also makes an unnamed unix socket: a client connected to fd 9.
    probe = await child(`
      const net = helpers.require('node:net');
      const { names, calls } = JSON.parse(args[0]);
      const fdOf = {};
      for (let i = 0; i < names.length; i++) fdOf[names[i]] = 3 + i;
      const listened = sd.listenFds().map((f) => f.name);
      const client = net.connect(${JSON.stringify(paths.stream)});
      await new Promise((r, j) => { client.once('connect', r); client.once('error', j); });
      fdOf.unnamed = client._handle.fd;
      const open = helpers.openFds();
      fdOf.closed = 100;
      while (open.includes(fdOf.closed)) fdOf.closed++;
      const special = { '#NaN': NaN, '#Inf': Infinity, '#2^32+3': 2 ** 32 + 3, '#2^31': 2 ** 31 };
      const results = calls.map(([fn, name, ...rest]) => {
        const fd = name in fdOf ? fdOf[name] : name in special ? special[name] : name;
        if (fn === 'native.isSocketInet') return helpers.attempt(() => native.isSocketInet(fd, ...rest));
        if (fn === 'native.isSocketUnix') return helpers.attempt(() => native.isSocketUnix(fd, ...rest));
        if (fn === 'native.describeSocket') return helpers.attempt(() => native.describeSocket(fd));
        if (fn === 'isSocketInet') return helpers.attempt(() => sd.isSocketInet(fd, ...rest));
        if (fn === 'isSocketUnix') return helpers.attempt(() => sd.isSocketUnix(fd, ...rest));
        if (fn === 'describeSocket') return helpers.attempt(() => sd.describeSocket(fd));
        throw new Error(fn);
      });
      client.destroy();
      return { listened, fdOf, results };
    `, { fds, names, args: [JSON.stringify({ names, calls: CALLS })] });
  });

  // [function, fd name or number, ...arguments] -> the expected { ok } or error code.
  const CALLS = [];
  const EXPECT = [];
  function expect(call, result) { CALLS.push(call); EXPECT.push(result); }
  const AF_INET = 2, AF_INET6 = 10, AF_UNIX = 1;
  const STREAM = 1, DGRAM = 2, SEQPACKET = 5;

  // sd_is_socket_inet: don't-care values (0, 0, -1, 0) first.
  for (const [name, want] of [['tcp4', 1], ['tcp6only', 1], ['tcp6dual', 1], ['udp4', 1], ['udp6', 1], ['tcpbound', 1],
    ['unix', 0], ['abstract', 0], ['unixdgram', 0], ['seqpacket', 0], ['unnamed', 0], ['file', 0], ['fifo', 0], ['devnull', 0], ['dir', 0]]) {
    expect(['native.isSocketInet', name, 0, 0, -1, 0], { ok: want });
    expect(['isSocketInet', name], { ok: want === 1 });
  }
  // family
  expect(['native.isSocketInet', 'tcp4', AF_INET, 0, -1, 0], { ok: 1 });
  expect(['native.isSocketInet', 'tcp4', AF_INET6, 0, -1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcp6only', AF_INET6, 0, -1, 0], { ok: 1 });
  expect(['native.isSocketInet', 'tcp6only', AF_INET, 0, -1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcp6dual', AF_INET, 0, -1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcp4', AF_UNIX, 0, -1, 0], { ok: E.EINVAL });
  expect(['native.isSocketInet', 'tcp4', -1, 0, -1, 0], { ok: E.EINVAL });
  expect(['isSocketInet', 'tcp4', { family: 4 }], { ok: true });
  expect(['isSocketInet', 'tcp4', { family: 6 }], { ok: false });
  expect(['isSocketInet', 'udp6', { family: 6 }], { ok: true });
  expect(['isSocketInet', 'udp6', { family: 4 }], { ok: false });
  // type
  expect(['native.isSocketInet', 'tcp4', 0, STREAM, -1, 0], { ok: 1 });
  expect(['native.isSocketInet', 'tcp4', 0, DGRAM, -1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'udp4', 0, DGRAM, -1, 0], { ok: 1 });
  expect(['native.isSocketInet', 'udp4', 0, STREAM, -1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcp4', 0, SEQPACKET, -1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcp4', 0, -1, -1, 0], { ok: E.EINVAL });
  expect(['isSocketInet', 'tcp6dual', { type: 'stream' }], { ok: true });
  expect(['isSocketInet', 'tcp6dual', { type: 'dgram' }], { ok: false });
  expect(['isSocketInet', 'udp4', { type: 'dgram' }], { ok: true });
  expect(['isSocketInet', 'udp4', { type: 'seqpacket' }], { ok: false });
  // listening
  expect(['native.isSocketInet', 'tcp4', 0, 0, 1, 0], { ok: 1 });
  expect(['native.isSocketInet', 'tcp4', 0, 0, 0, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcpbound', 0, 0, 0, 0], { ok: 1 });
  expect(['native.isSocketInet', 'tcpbound', 0, 0, 1, 0], { ok: 0 });
  expect(['native.isSocketInet', 'tcp4', 0, 0, 5, 0], { ok: 1 }); // any positive means listening
  expect(['native.isSocketInet', 'udp4', 0, 0, 0, 0], { ok: 1 });
  expect(['native.isSocketInet', 'udp4', 0, 0, 1, 0], { ok: 0 });
  expect(['isSocketInet', 'tcp4', { listening: true }], { ok: true });
  expect(['isSocketInet', 'tcp4', { listening: false }], { ok: false });
  expect(['isSocketInet', 'tcpbound', { listening: false }], { ok: true });
  expect(['isSocketInet', 'tcpbound', { listening: true }], { ok: false });
  // combined
  expect(['isSocketInet', 'tcp6only', { family: 6, type: 'stream', listening: true }], { ok: true });
  expect(['isSocketInet', 'tcp6only', { family: 6, type: 'stream', listening: false }], { ok: false });
  // closed / invalid fds
  expect(['native.isSocketInet', 'closed', 0, 0, -1, 0], { ok: E.EBADF });
  expect(['native.isSocketInet', -1, 0, 0, -1, 0], { ok: E.EBADF });
  expect(['native.isSocketInet', 'tcp4', 0, 0, -1, 1.5], { error: 'TypeError' });
  expect(['native.isSocketInet', 'tcp4', '2', 0, -1, 0], { error: 'TypeError' });
  expect(['native.isSocketInet', '#2^32+3', 0, 0, -1, 0], { error: 'TypeError' });
  expect(['isSocketInet', 'closed'], { error: 'EBADF', syscall: 'sd_is_socket_inet' });
  expect(['isSocketInet', -1], { error: 'EBADF', syscall: 'sd_is_socket_inet' });
  // The port range is checked here, in TypeScript, only (the addon takes any 32-bit integer).
  for (const bad of [{ family: 5 }, { family: '4' }, { type: 'raw' }, { type: 'toString' }, { type: 1 }, { port: -1 },
    { port: 65536 }, { port: 1.5 }, { port: '80' }, { listening: 'yes' }, { listening: 1 }]) {
    expect(['isSocketInet', 'tcp4', bad], { error: 'ERR_SD_INVALID_ARGUMENT' });
  }
  for (const fd of [1.5, '3', '#NaN', '#2^32+3', null]) expect(['isSocketInet', fd], { error: 'ERR_SD_INVALID_ARGUMENT' });
  expect(['isSocketInet', 'tcp4', null], { error: 'ERR_SD_INVALID_ARGUMENT' });

  // sd_is_socket_unix: don't-care values first.
  for (const [name, want] of [['unix', 1], ['abstract', 1], ['unixdgram', 1], ['seqpacket', 1], ['unnamed', 1],
    ['tcp4', 0], ['udp6', 0], ['file', 0], ['fifo', 0], ['devnull', 0], ['dir', 0]]) {
    expect(['native.isSocketUnix', name, 0, -1, null], { ok: want });
    expect(['isSocketUnix', name], { ok: want === 1 });
  }
  expect(['native.isSocketUnix', 'unix', STREAM, -1, null], { ok: 1 });
  expect(['native.isSocketUnix', 'unix', DGRAM, -1, null], { ok: 0 });
  expect(['native.isSocketUnix', 'unixdgram', DGRAM, -1, null], { ok: 1 });
  expect(['native.isSocketUnix', 'unixdgram', STREAM, -1, null], { ok: 0 });
  expect(['native.isSocketUnix', 'seqpacket', SEQPACKET, -1, null], { ok: 1 });
  expect(['native.isSocketUnix', 'seqpacket', STREAM, -1, null], { ok: 0 });
  expect(['native.isSocketUnix', 'unix', -1, -1, null], { ok: E.EINVAL });
  expect(['native.isSocketUnix', 'unix', 0, 1, null], { ok: 1 });
  expect(['native.isSocketUnix', 'unix', 0, 0, null], { ok: 0 });
  expect(['native.isSocketUnix', 'unnamed', 0, 0, null], { ok: 1 });
  expect(['native.isSocketUnix', 'unnamed', 0, 1, null], { ok: 0 });
  expect(['isSocketUnix', 'seqpacket', { type: 'seqpacket', listening: true }], { ok: true });
  expect(['isSocketUnix', 'seqpacket', { type: 'dgram' }], { ok: false });
  expect(['isSocketUnix', 'unixdgram', { type: 'dgram', listening: false }], { ok: true });
  expect(['isSocketUnix', 'unixdgram', { listening: true }], { ok: false });
  expect(['isSocketUnix', 'unix', { type: 'stream', listening: true }], { ok: true });
  expect(['isSocketUnix', 'unix', { listening: false }], { ok: false });
  // path
  expect(['isSocketUnix', 'unix', { path: paths.stream }], { ok: true });
  expect(['isSocketUnix', 'unix', { path: paths.stream, type: 'stream', listening: true }], { ok: true });
  expect(['isSocketUnix', 'unix', { path: paths.stream + 'x' }], { ok: false });
  expect(['isSocketUnix', 'unix', { path: paths.dgram }], { ok: false });
  expect(['isSocketUnix', 'unix', { path: paths.stream.slice(0, -1) }], { ok: false });
  expect(['isSocketUnix', 'unix', { path: '' }], { ok: false });
  expect(['isSocketUnix', 'unix', { path: '@' }], { ok: false });
  expect(['isSocketUnix', 'unixdgram', { path: paths.dgram }], { ok: true });
  expect(['isSocketUnix', 'abstract', { path: paths.abstract }], { ok: true });
  expect(['isSocketUnix', 'abstract', { path: paths.abstract + 'x' }], { ok: false });
  expect(['isSocketUnix', 'abstract', { path: paths.abstract.slice(0, -2) }], { ok: false });
  expect(['isSocketUnix', 'abstract', { path: `/${paths.abstract.slice(1)}` }], { ok: false });
  expect(['isSocketUnix', 'abstract', { path: '' }], { ok: false });
  expect(['isSocketUnix', 'unnamed', { path: '' }], { ok: true });
  expect(['isSocketUnix', 'unnamed', { path: paths.stream }], { ok: false });
  expect(['isSocketUnix', 'unnamed', { path: '@' }], { ok: false });
  expect(['native.isSocketUnix', 'unix', 0, -1, paths.stream], { ok: 1 });
  expect(['native.isSocketUnix', 'abstract', 0, -1, paths.abstract], { ok: 1 });
  expect(['native.isSocketUnix', 'unnamed', 0, -1, ''], { ok: 1 });
  expect(['native.isSocketUnix', 'tcp4', 0, -1, ''], { ok: 0 });
  expect(['native.isSocketUnix', 'unix', 0, -1, 5], { error: 'TypeError' });
  // closed / invalid
  expect(['native.isSocketUnix', 'closed', 0, -1, null], { ok: E.EBADF });
  expect(['native.isSocketUnix', -5, 0, -1, null], { ok: E.EBADF });
  expect(['isSocketUnix', 'closed'], { error: 'EBADF', syscall: 'sd_is_socket_unix' });
  for (const bad of [{ type: 'packet' }, { listening: 'no' }, { path: 5 }, { path: null }]) {
    expect(['isSocketUnix', 'unix', bad], { error: 'ERR_SD_INVALID_ARGUMENT' });
  }
  for (const fd of [2.5, '9', '#Inf']) expect(['isSocketUnix', fd], { error: 'ERR_SD_INVALID_ARGUMENT' });

  // describeSocket
  for (const name of ['tcp4', 'tcp6only', 'tcp6dual', 'udp4', 'udp6', 'tcpbound', 'unix', 'abstract', 'unixdgram',
    'seqpacket', 'unnamed', 'file', 'fifo', 'devnull', 'dir', 'closed', -1]) {
    expect(['native.describeSocket', name], { describe: name });
    expect(['describeSocket', name], { describe: name, facade: true });
  }
  for (const fd of [0.5, '3', '#2^31']) expect(['describeSocket', fd], { error: 'ERR_SD_INVALID_ARGUMENT' });
  expect(['native.describeSocket', '#2^31'], { error: 'TypeError' });

  test('every inherited fd was listed', () => {
    assert.deepEqual(probe.listened, ['tcp4', 'tcp6only', 'tcp6dual', 'udp4', 'udp6', 'tcpbound', 'unix', 'abstract',
      'unixdgram', 'seqpacket', 'file', 'fifo', 'devnull', 'dir']);
    assert.ok(probe.fdOf.unnamed > 16);
  });

  test('each probe gives the sd-daemon answer (positive and negative per parameter)', () => {
    assert.equal(probe.results.length, CALLS.length);
    for (let i = 0; i < CALLS.length; i++) {
      const want = EXPECT[i];
      const got = probe.results[i];
      const label = JSON.stringify(CALLS[i]);
      if (want.describe) continue; // checked below
      if ('ok' in want) {
        assert.ok(!got.error, `${label}: ${JSON.stringify(got.error)}`);
        assert.equal(got.ok, want.ok, label);
      } else if (want.error === 'TypeError') {
        assert.equal(got.error && got.error.name, 'TypeError', label);
      } else {
        assert.ok(got.error, `${label} should throw, got ${JSON.stringify(got.ok)}`);
        assert.equal(got.error.code, want.error, label);
        if (want.syscall) {
          assert.equal(got.error.syscall, want.syscall, label);
          assert.equal(got.error.errno, E[want.error], label);
        }
      }
    }
  });

  test('describeSocket: family, type, listening, address, port, path, v6only for each kind of fd', () => {
    const expected = {
      tcp4: { fileType: 'socket', family: 'inet', type: 'stream', listening: true, address: '127.0.0.1', port: ports.tcp4, path: '', v6only: false },
      tcp6only: { fileType: 'socket', family: 'inet6', type: 'stream', listening: true, address: '::1', port: ports.tcp6only, path: '', v6only: true },
      tcp6dual: { fileType: 'socket', family: 'inet6', type: 'stream', listening: true, address: '::', port: ports.tcp6dual, path: '', v6only: false },
      udp4: { fileType: 'socket', family: 'inet', type: 'dgram', listening: false, address: '127.0.0.1', port: ports.udp4, path: '', v6only: false },
      // Linux sets IPV6_V6ONLY on a socket bound to a specific IPv6 address.
      udp6: { fileType: 'socket', family: 'inet6', type: 'dgram', listening: false, address: '::1', port: ports.udp6, path: '', v6only: true },
      tcpbound: { fileType: 'socket', family: 'inet', type: 'stream', listening: false, address: '127.0.0.1', port: ports.tcpbound, path: '', v6only: false },
      unix: { fileType: 'socket', family: 'unix', type: 'stream', listening: true, address: '', port: 0, path: paths.stream, v6only: false },
      abstract: { fileType: 'socket', family: 'unix', type: 'stream', listening: true, address: '', port: 0, path: paths.abstract, v6only: false },
      unixdgram: { fileType: 'socket', family: 'unix', type: 'dgram', listening: false, address: '', port: 0, path: paths.dgram, v6only: false },
      seqpacket: { fileType: 'socket', family: 'unix', type: 'seqpacket', listening: true, address: '', port: 0, path: paths.seq, v6only: false },
      unnamed: { fileType: 'socket', family: 'unix', type: 'stream', listening: false, address: '', port: 0, path: '', v6only: false },
    };
    const plain = (fileType) => ({ fileType, family: '', type: 'none', listening: false, address: '', port: 0, path: '', v6only: false });
    Object.assign(expected, { file: plain('file'), fifo: plain('fifo'), devnull: plain('chr'), dir: plain('dir') });
    let checked = 0;
    for (let i = 0; i < CALLS.length; i++) {
      const want = EXPECT[i];
      if (!want.describe) continue;
      const got = probe.results[i];
      const name = want.describe;
      const fd = typeof name === 'string' ? probe.fdOf[name] : name;
      if (name === 'closed' || name === -1) {
        if (want.facade) {
          assert.equal(got.error.code, 'EBADF');
          assert.equal(got.error.errno, E.EBADF);
          assert.equal(got.error.syscall, 'fstat');
        } else {
          assert.equal(got.ok, E.EBADF);
        }
      } else {
        assert.deepEqual(got.ok, want.facade ? { fd, ...expected[name] } : expected[name], name);
      }
      checked++;
    }
    assert.equal(checked, 34);
    for (const k of ['tcp4', 'tcp6only', 'tcp6dual', 'udp4', 'udp6', 'tcpbound']) assert.ok(ports[k] > 0, k);
    // The human-readable form used in warnings.
    assert.equal(sd.formatSocket(expected.tcp6dual), `tcp [::]:${ports.tcp6dual} dual-stack (listening)`);
    assert.equal(sd.formatSocket(expected.unnamed), 'unix (unnamed) (not listening)');
    assert.equal(sd.formatSocket(expected.file), 'regular file');
  });
});

describe('closeFd, booted, watchdogEnabled, openSocket', () => {
  test('closeFd closes an inherited fd; closing it again is EBADF; bad fds are refused', async () => {
    const out = await child(`
      const [{ fd }] = sd.listenFds();
      const first = helpers.attempt(() => sd.closeFd(fd));
      return { fd, first, after: helpers.fdFlags(fd), describe: helpers.attempt(() => sd.describeSocket(fd)),
        again: helpers.attempt(() => sd.closeFd(fd)), negative: helpers.attempt(() => sd.closeFd(-1)),
        fraction: helpers.attempt(() => sd.closeFd(3.5)), str: helpers.attempt(() => sd.closeFd('3')),
        rawAgain: native.close(fd), rawNegative: native.close(-7), rawBad: helpers.attempt(() => native.close(2 ** 40)) };
    `, { fds: [openSocket('tcp', '127.0.0.1', 0).fd] });
    assert.equal(out.fd, 3);
    assert.deepEqual(out.first, {});
    assert.equal(out.after, null, 'fd 3 is gone');
    assert.equal(out.describe.error.code, 'EBADF');
    assert.deepEqual([out.again.error.code, out.again.error.errno, out.again.error.syscall], ['EBADF', E.EBADF, 'close']);
    assert.deepEqual([out.negative.error.code, out.negative.error.syscall], ['EBADF', 'close']);
    assert.equal(out.fraction.error.code, 'ERR_SD_INVALID_ARGUMENT');
    assert.equal(out.str.error.code, 'ERR_SD_INVALID_ARGUMENT');
    assert.equal(out.rawAgain, E.EBADF);
    assert.equal(out.rawNegative, E.EBADF);
    assert.equal(out.rawBad.error.name, 'TypeError');
  });

  test('booted(): false here, because /run/systemd/system does not exist', (t) => {
    const marker = fs.existsSync('/run/systemd/system');
    if (marker) {
      // A host booted with systemd: then both must say so.
      assert.equal(native.booted(), 1);
      assert.equal(sd.booted(), true);
      t.diagnostic('/run/systemd/system exists: checked the positive case');
      return;
    }
    assert.equal(native.booted(), 0);
    assert.equal(sd.booted(), false);
  });

  test('watchdogEnabled: raw results for unset, set, WATCHDOG_PID own / other / malformed, 0 and huge', async () => {
    const out = await child(`
      const r = {};
      const set = (usec, pid) => {
        if (usec === undefined) delete process.env.WATCHDOG_USEC; else process.env.WATCHDOG_USEC = usec;
        if (pid === undefined) delete process.env.WATCHDOG_PID; else process.env.WATCHDOG_PID = pid;
        return native.watchdogEnabled();
      };
      const me = String(process.pid);
      r.unset = set();
      r.pidOnly = set(undefined, me);
      r.set = set('30000000');
      r.own = set('2000000', me);
      r.other = set('2000000', String(process.ppid));
      r.one = set('2000000', '1');
      r.pidGarbage = set('2000000', 'abc');
      r.pidZero = set('2000000', '0');
      r.pidNegative = set('2000000', '-5');
      r.pidEmpty = set('2000000', '');
      r.garbage = set('soon');
      r.empty = set('');
      r.zero = set('0');
      r.negative = set('-1000');
      r.infinity = set('18446744073709551615');
      r.tooBig = set('18446744073709551616');
      r.hex = set('0x10');
      r.space = set(' 500');
      r.trailing = set('500 ');
      r.max = set('18446744073709551614');
      return r;
    `);
    assert.deepEqual(out.unset, { result: 0, usec: 0 });
    assert.deepEqual(out.pidOnly, { result: 0, usec: 0 });
    assert.deepEqual(out.set, { result: 1, usec: 30000000 });
    assert.deepEqual(out.own, { result: 1, usec: 2000000 });
    assert.deepEqual(out.other, { result: 0, usec: 0 });
    assert.deepEqual(out.one, { result: 0, usec: 0 });
    assert.deepEqual(out.pidGarbage, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.pidZero, { result: E.ERANGE, usec: 0 });
    assert.deepEqual(out.pidNegative, { result: E.ERANGE, usec: 0 });
    assert.deepEqual(out.pidEmpty, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.garbage, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.empty, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.zero, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.negative, { result: E.ERANGE, usec: 0 });
    assert.deepEqual(out.infinity, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.tooBig, { result: E.ERANGE, usec: 0 });
    assert.deepEqual(out.hex, { result: 1, usec: 16 });
    assert.deepEqual(out.space, { result: 1, usec: 500 });
    assert.deepEqual(out.trailing, { result: E.EINVAL, usec: 0 });
    assert.deepEqual(out.max, { result: 1, usec: 18446744073709551614 }); // a double: precision is lost up there
  });

  test('openSocket: every kind, backlog -1 (bound, not listening), v6only, and its errors', () => {
    const opened = [];
    const open = (...a) => { const fd = native.openSocket(...a); if (fd >= 0) opened.push(fd); return fd; };
    try {
      const tcp = open('tcp', '127.0.0.1', 0, 5, -1);
      assert.ok(tcp > 2);
      const d = native.describeSocket(tcp);
      assert.deepEqual([d.family, d.type, d.listening, d.address], ['inet', 'stream', true, '127.0.0.1']);
      assert.equal(open('tcp', '127.0.0.1', d.port, 5, -1), -98, 'EADDRINUSE');
      const bound = native.describeSocket(open('tcp', '::1', 0, -1, 1));
      assert.deepEqual([bound.family, bound.listening, bound.v6only], ['inet6', false, true]);
      assert.equal(native.describeSocket(open('tcp', '::', 0, 1, 0)).v6only, false);
      assert.equal(native.describeSocket(open('tcp', '::', 0, 1, 1)).v6only, true);
      assert.equal(native.describeSocket(open('udp', '127.0.0.1', 0, 5, -1)).type, 'dgram');
      const sockPath = path.join(tmp, 'open.sock');
      assert.equal(native.describeSocket(open('unix', sockPath, 0, 5, -1)).path, sockPath);
      assert.equal(open('unix', sockPath, 0, 5, -1), E.EADDRINUSE, 'the path exists');
      assert.equal(native.describeSocket(open('unix-dgram', `@sdact-open-${process.pid}`, 0, 5, -1)).path, `@sdact-open-${process.pid}`);
      assert.equal(native.describeSocket(open('seqpacket', path.join(tmp, 'seq2.sock'), 0, 5, -1)).type, 'seqpacket');
      // Flags: CLOEXEC on everything it opens.
      const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${tcp}`, 'utf8'))[1], 8);
      assert.equal(flags & O_CLOEXEC, O_CLOEXEC);
      // Errors.
      assert.equal(open('sctp', '127.0.0.1', 0, 5, -1), E.EINVAL);
      assert.equal(open('tcp', 'localhost', 0, 5, -1), E.EINVAL, 'numeric addresses only');
      assert.equal(open('tcp', '', 0, 5, -1), E.EINVAL);
      // (The port range is the caller's to check: the CLI's listen-spec parser refuses 65536 and -1.)
      assert.equal(open('unix', '', 0, 5, -1), E.EINVAL);
      assert.equal(open('unix', `/${'a'.repeat(108)}`, 0, 5, -1), E.EINVAL);
      assert.equal(open('unix', path.join(tmp, 'missing', 'x.sock'), 0, 5, -1), E.ENOENT);
      assert.throws(() => native.openSocket('tcp', '127.0.0.1', 0.5, 5, -1), TypeError);
      assert.throws(() => native.openSocket(1, '127.0.0.1', 0, 5, -1), TypeError);
      assert.throws(() => native.openSocket('tcp'), TypeError);
    } finally {
      for (const fd of opened) native.close(fd);
    }
  });
});

describe('fileId, writeText: the fstat and write of the log path', () => {
  test('fileId is fstat\'s st_dev:st_ino, exactly (fds of every kind); a closed or negative fd is EBADF', () => {
    const file = path.join(tmp, 'id-file');
    fs.writeFileSync(file, 'x');
    const fd = fs.openSync(file, 'r');
    const sock = native.openSocket('tcp', '127.0.0.1', 0, 1, -1);
    try {
      for (const f of [0, 1, 2, fd, sock]) {
        const st = fs.fstatSync(f, { bigint: true });
        assert.equal(native.fileId(f), `${st.dev}:${st.ino}`, `fd ${f}`);
      }
      assert.notEqual(native.fileId(fd), native.fileId(sock));
    } finally {
      fs.closeSync(fd);
      native.close(sock);
    }
    assert.equal(native.fileId(fd), E.EBADF);
    assert.equal(native.fileId(-1), E.EBADF);
  });

  test('writeText writes all of a text (UTF-8, more than a pipe holds, through a full non-blocking pipe); EBADF when closed', async () => {
    // The child's stdout is a pipe Node made non-blocking. This process reads
    // none of it until the child says (on stderr) that it starts writing, and
    // 100 ms more: 280 KB cannot go into a 64 KB pipe without a write(2) that
    // fails with EAGAIN, so all of it arriving is the wait for the reader.
    const c = startChild({ script: EVAL, args: [`
      process.stdout; // Node sets O_NONBLOCK on a pipe it opens as a stream
      const nonBlocking = (helpers.fdFlags(1) & 0o4000) !== 0;
      const text = \`\${'é€x'.repeat(40000)}\\n\`;
      helpers.fs.writeSync(2, 'writing\\n');
      const n = native.writeText(1, text);
      return { nonBlocking, n, bytes: Buffer.byteLength(text), closed: native.writeText(99, 'x'), negative: native.writeText(-1, 'x') };
    `] });
    c.proc.stdout.pause();
    c.proc.stderr.once('data', () => setTimeout(() => c.proc.stdout.resume(), 100));
    const r = await c.done;
    const text = `${'é€x'.repeat(40000)}\n`; // what the child wrote
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.nonBlocking, true);
    assert.equal(r.json.n, r.json.bytes);
    assert.equal(r.stdout.slice(0, text.length), text);
    assert.equal(r.json.closed, E.EBADF);
    assert.equal(r.json.negative, E.EBADF);
  });

  test('writeText gives up after 1 s on a reader that does not read: -EAGAIN, not a hang', async () => {
    const c = startChild({ script: EVAL, args: [`
      process.stdout;
      const t = Date.now();
      const n = native.writeText(1, 'y'.repeat(1 << 20));
      const ms = Date.now() - t;
      helpers.fs.writeSync(2, 'gave up\\n');
      process.stdout.write('\\n'); // ends the part written, before the JSON line
      return { n, ms };
    `] });
    c.proc.stdout.pause();
    // Read only once the child has given up.
    c.proc.stderr.once('data', () => c.proc.stdout.resume());
    const r = await c.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.n, -11);
    assert.ok(r.json.ms >= 900 && r.json.ms < 5000, `waited ${r.json.ms} ms`);
  });
});

describe('argument checking in the addon', () => {
  test('every function refuses missing or mistyped arguments with a TypeError (never aborts); test addon too', async () => {
    const out = await child(`
      const testAddon = helpers.require('../helpers/test-addon');
      const calls = {
        isSocketInet: () => native.isSocketInet(), isSocketInet2: () => native.isSocketInet('3', 'x', {}, [], null),
        isSocketUnix: () => native.isSocketUnix(), isSocketUnixPath: () => native.isSocketUnix(3, 0, -1, 7),
        describeSocket: () => native.describeSocket(), describeFloat: () => native.describeSocket(3.25),
        close: () => native.close('3'), closeHuge: () => native.close(2 ** 53),
        notify: () => native.notify(), notifyState: () => native.notify(0, 5, []), notifyFds: () => native.notify(0, 'x', 3),
        notifyFdType: () => native.notify(0, 'x', ['3']), notifyFdRange: () => native.notify(0, 'x', [2 ** 31]),
        notifyGetter: () => native.notify(0, 'x', [{ get x() { return 1; } }]),
        notifyThrowingGetter: () => { const a = [1]; Object.defineProperty(a, 0, { get() { throw new Error('boom'); } }); return native.notify(0, 'x', a); },
        notifyAddress: () => native.notify(0, 'x', [], 5), notifyAddressObject: () => native.notify(0, 'x', [], { path: '/run/x' }),
        notifyAddressBadFds: () => native.notify(0, 'x', 3, '@x'),
        notifyAsync: () => testAddon.notifyAsync('0', 'x', []), barrier: () => testAddon.barrier(),
        barrierNaN: () => testAddon.barrier(NaN), barrierString: () => testAddon.barrier('5'), openSocket: () => native.openSocket('tcp'),
        receiver: () => new native.NotifyReceiver(), receiverFn: () => new native.NotifyReceiver('@x'),
        watch: () => new native.ReadableWatch(), watchFds: () => new native.ReadableWatch([-1], () => {}),
        watchFn: () => new native.ReadableWatch([]),
        barrierSendAddress: () => native.barrierSend(5), barrierSendObject: () => native.barrierSend({ path: '/run/x' }),
        notifyStateNone: () => native.notifyState(), notifyStateNumber: () => native.notifyState(5),
        fileId: () => native.fileId(), fileIdString: () => native.fileId('2'), writeText: () => native.writeText(2),
        writeTextNumber: () => native.writeText(2, 5), writeTextFd: () => native.writeText(2.5, 'x'),
      };
      const r = {};
      for (const [k, f] of Object.entries(calls)) {
        try { r[k] = { returned: String(f()) }; } catch (e) { r[k] = { name: e.name, message: e.message }; }
      }
      return r;
    `);
    for (const [k, v] of Object.entries(out)) {
      if (k === 'notifyThrowingGetter') {
        assert.equal(v.message, 'boom', 'the getter\'s own error comes through');
        continue;
      }
      assert.equal(v.name, 'TypeError', `${k}: ${JSON.stringify(v)}`);
    }
  });
});
