// SPDX-License-Identifier: MIT
'use strict';
// The matcher's documented decisions on hand-written descriptions, config
// validation, and the in-process API surface of activate() when the process
// was not socket-activated (the test runner itself).
const test = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { normalizeConfig } = require('../dist/activation/listeners');
const { Claims, matchSockets } = require('../dist/activation/match');
const { heldAddresses, planTargets } = require('../dist/activation/plan');
const sd = require('../dist');
const native = require('./helpers/native');

const inet = (address, port = 80, extra = {}) => ({ fileType: 'socket', family: address.includes(':') ? 'inet6' : 'inet',
  type: 'stream', listening: true, address, port, path: '', v6only: false, ...extra });
const cand = (desc, fd = 3, name = 'unknown') => ({ fd, name, desc });
const match = (config, candidates) => matchSockets(normalizeConfig(config), candidates);

test('the most specific bind entry wins, then config order', () => {
  const r = match({ any: { port: 80 }, wild: { port: 80, bind: '*' }, exact: { port: 80, bind: '127.0.0.1' } },
    [cand(inet('127.0.0.1')), cand(inet('0.0.0.0'), 4), cand(inet('::'), 5)]);
  assert.deepEqual(r.adopted.map((a) => [a.fd, a.listener, a.via]), [[3, 'exact', '127.0.0.1'], [4, 'wild', '*'], [5, 'any', '(any)']]);
});

test('claims one listener at a time: rejections wait for settle; a better listener already known keeps its socket', () => {
  const [any, exact] = normalizeConfig({ any: { port: 80 }, exact: { port: 80, bind: '127.0.0.1' } });
  const cands = [cand(inet('127.0.0.1')), cand(inet('10.0.0.1', 81), 4), cand({ fileType: 'fifo', family: '', type: 'none',
    listening: false, address: '', port: 0, path: '', v6only: false }, 5)];
  // Learnt one at a time (a preload): the first claim takes what it may.
  const learnt = new Claims(cands);
  assert.deepEqual(learnt.unclaimed(), [3, 4]);
  assert.deepEqual(learnt.claim(any).map((a) => [a.fd, a.via]), [[3, '(any)']]);
  assert.deepEqual(learnt.claim(exact), []);
  assert.deepEqual(learnt.unclaimed(), [4]);
  const r = learnt.settle();
  assert.deepEqual(r.rejected.map((x) => [x.fd, x.reason]), [[4, 'no-listener'], [5, 'not-a-socket']]);
  // Known up front (the batch): the narrower entry wins whichever claims first.
  const known = new Claims(cands, [any, exact]);
  assert.deepEqual(known.claim(any), []);
  assert.deepEqual(known.claim(exact).map((a) => [a.fd, a.listener]), [[3, 'exact']]);
  assert.deepEqual(known.settle(), matchSockets([any, exact], cands));
  // A known listener that never claims: its socket is rejected at settle, saying so.
  const idle = new Claims([cand(inet('127.0.0.1'))], [exact]);
  assert.match(idle.settle().rejected[0].detail, /listener "exact" may take it but did not claim it/);
});

test('wildcards are per family: * takes only AF_INET sockets, ::* only AF_INET6 ones (dual-stack [::] included unless ipv6Only)', () => {
  const v4any = inet('0.0.0.0');
  const dual = inet('::', 80, { v6only: false });
  const v6only = inet('::', 80, { v6only: true });
  const adopts = (cfg, desc) => match({ l: { port: 80, ...cfg } }, [cand(desc)]).adopted.length === 1;
  assert.equal(adopts({ bind: '::*' }, v4any), false, 'an IPv4 socket is never adopted by IPv6-only bind entries');
  assert.equal(adopts({ bind: '::' }, v4any), false);
  assert.equal(adopts({ bind: ['::*', '::1'] }, v4any), false);
  assert.equal(adopts({ bind: '::*' }, dual), true, 'dual-stack [::] is AF_INET6 and matches ::*');
  assert.equal(adopts({ bind: '::*', ipv6Only: true }, dual), false, 'ipv6Only takes only IPV6_V6ONLY sockets');
  assert.equal(adopts({ bind: '::*', ipv6Only: true }, v6only), true);
  assert.equal(adopts({ bind: '*' }, v4any), true);
  assert.equal(adopts({ bind: '*' }, dual), false);
  assert.equal(adopts({ bind: '*' }, v6only), false);
  assert.equal(adopts({}, v4any), true, 'no bind: any address of either family');
  assert.equal(adopts({}, dual), true);
  assert.match(match({ l: { port: 80, bind: '::*' } }, [cand(v4any)]).rejected[0].reason, /address-not-allowed/);
  // Beside an IPv4 literal, ::* is IPv6 only: a dual-stack socket would expose every IPv4 address.
  assert.equal(adopts({ bind: ['127.0.0.1', '::*'] }, dual), false, 'no widening through a dual-stack socket');
  assert.equal(adopts({ bind: ['127.0.0.1', '::*'] }, v6only), true);
  assert.equal(adopts({ bind: ['*', '::*'] }, dual), true, '* and ::* together take a dual-stack socket');
});

test('* and ::* together: a dual-stack socket covers both; self-bound, ::* is IPv6-only beside the IPv4 socket', async () => {
  const [both] = normalizeConfig({ both: { port: 80, bind: ['*', '::*'] } });
  const dual = cand(inet('::', 80, { v6only: false }));
  const { adopted } = matchSockets([both], [dual]);
  assert.deepEqual(planTargets(both, adopted, { ipv6: true }), [{ fd: 3 }], 'nothing self-bound for * beside a dual-stack socket');
  const v4 = matchSockets([both], [cand(inet('0.0.0.0'))]).adopted;
  assert.deepEqual(planTargets(both, v4, { ipv6: true }), [{ fd: 3 }, { port: 80, host: '::', ipv6Only: true }]);
  assert.deepEqual(planTargets(both, [], { ipv6: true }), [{ port: 80, host: '0.0.0.0' }, { port: 80, host: '::', ipv6Only: true }]);
  const [alone] = normalizeConfig({ alone: { port: 80, bind: '::*' } });
  assert.deepEqual(planTargets(alone, [], { ipv6: true }), [{ port: 80, host: '::' }], '::* alone binds as Node binds ::');
  const [udp] = normalizeConfig({ udp: { port: 53, type: 'datagram', bind: ['*', '::*'] } });
  assert.deepEqual(planTargets(udp, [], { ipv6: true }), [{ port: 53, address: '0.0.0.0', type: 'udp4' }, { port: 53, address: '::', type: 'udp6', ipv6Only: true }]);
  // And the two self-bind targets really bind side by side on one port.
  const probe = net.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  const [real] = normalizeConfig({ real: { port, bind: ['*', '::*'] } });
  const servers = [];
  try {
    for (const t of planTargets(real, [], { ipv6: true })) {
      const s = net.createServer();
      servers.push(s);
      await new Promise((resolve, reject) => { s.once('error', reject); s.listen(t, resolve); });
    }
    assert.deepEqual(servers.map((s) => s.address().address).sort(), ['0.0.0.0', '::']);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? s.close(r) : r()))));
  }
});

test('a name never widens: fdname with port/bind/path adopts a named socket only within them; fdname alone takes it whatever its address', () => {
  const named = (desc) => cand(desc, 3, 'web');
  const unix = (p) => ({ fileType: 'socket', family: 'unix', type: 'stream', listening: true, address: '', port: 0, path: p, v6only: false });
  const adopts = (cfg, c) => match({ l: cfg }, [c]).adopted.length === 1;
  assert.equal(adopts({ fdname: 'web', port: 80, bind: '127.0.0.1' }, named(inet('0.0.0.0'))), false);
  assert.equal(adopts({ fdname: 'web', port: 80, bind: '127.0.0.1' }, named(inet('127.0.0.1'))), true);
  assert.equal(adopts({ fdname: 'web', port: 1 }, named(inet('127.0.0.1'))), false, 'another port');
  assert.equal(adopts({ fdname: 'web', path: '/run/a.sock' }, named(unix('/run/b.sock'))), false);
  assert.equal(adopts({ fdname: 'web', path: '/run/a.sock' }, named(unix('/run/a.sock'))), true);
  assert.equal(adopts({ fdname: 'web' }, named(inet('0.0.0.0', 9999))), true, 'the one case where the unit decides');
  const r = match({ l: { fdname: 'web', port: 80, bind: '127.0.0.1' } }, [named(inet('0.0.0.0'))]);
  assert.equal(r.rejected[0].reason, 'address-not-allowed');
  assert.match(r.rejected[0].detail, /it is named "web", but it exposes any IPv4 address on port 80, more than listener "l" allows \(port 80, bind 127\.0\.0\.1\); a name never widens/);
});

test('addresses the manager holds: a rejected listening socket on the port, any rejected unix socket at the path', () => {
  const unix = (p, type = 'stream', listening = true) => ({ fileType: 'socket', family: 'unix', type, listening, address: '', port: 0, path: p, v6only: false });
  const o = { ipv6: true };
  const [web] = normalizeConfig({ web: { port: 80, bind: '127.0.0.1' } });
  const held = (desc, l = web) => heldAddresses(planTargets(l, [], o), [{ fd: 3, desc }], o).length;
  assert.equal(held(inet('0.0.0.0')), 1, '0.0.0.0:80 holds 127.0.0.1:80');
  assert.equal(held(inet('127.0.0.2')), 0, 'another address of the port holds nothing');
  assert.equal(held(inet('0.0.0.0', 81)), 0, 'another port');
  assert.equal(held(inet('0.0.0.0', 80, { type: 'dgram', listening: false })), 0, 'another kind');
  assert.equal(held(inet('0.0.0.0', 80, { listening: false })), 0, 'a stream socket that does not listen');
  const [sock] = normalizeConfig({ sock: { path: '/run/a.sock' } });
  for (const d of [unix('/run/a.sock'), unix('/run/a.sock', 'seqpacket'), unix('/run/a.sock', 'stream', false), unix('/run/a.sock', 'dgram', false)]) {
    assert.equal(held(d, sock), 1, `${d.type} ${d.listening ? 'listening' : 'connected'} at the path`);
  }
  assert.equal(held(unix('/run/b.sock'), sock), 0);
});

test('fdname beats address; a named socket of the wrong kind falls through to address matching', () => {
  const udp = inet('127.0.0.1', 53, { type: 'dgram', listening: false });
  const r = match({ named: { fdname: 'web' }, dns: { port: 53, type: 'datagram' } },
    [cand(inet('127.0.0.1'), 3, 'web'), cand(udp, 4, 'web')]);
  assert.deepEqual(r.adopted.map((a) => [a.fd, a.listener, a.via]), [[3, 'named', 'fdname'], [4, 'dns', '(any)']]);
});

test('rejection reasons', () => {
  const r = match({ web: { port: 80, bind: '127.0.0.1' }, sock: { path: '/run/a.sock' } }, [
    cand(inet('10.0.0.1'), 3),
    cand(inet('127.0.0.1', 81), 4),
    cand(inet('127.0.0.1', 80, { type: 'dgram', listening: false }), 5),
    cand(inet('127.0.0.1', 80, { listening: false }), 6),
    cand({ ...inet('127.0.0.1'), type: 'seqpacket' }, 7),
    cand({ fileType: 'socket', family: 'unix', type: 'dgram', listening: false, address: '', port: 0, path: '/run/a.sock', v6only: false }, 8),
    cand({ fileType: 'socket', family: 'unix', type: 'stream', listening: true, address: '', port: 0, path: '/run/b.sock', v6only: false }, 9),
    cand({ fileType: 'fifo', family: '', type: 'none', listening: false, address: '', port: 0, path: '', v6only: false }, 10),
    { fd: 11, name: 'unknown', error: 'EBADF' },
    cand({ fileType: 'socket', family: 'unix', type: 'stream', listening: true, address: '', port: 0, path: '', v6only: false }, 12),
  ]);
  assert.deepEqual(r.adopted, []);
  assert.deepEqual(r.rejected.map((x) => [x.fd, x.reason]), [
    [3, 'address-not-allowed'], [4, 'no-listener'], [5, 'kind-mismatch'], [6, 'not-listening'], [7, 'unsupported'],
    [8, 'unsupported'], [9, 'no-listener'], [10, 'not-a-socket'], [11, 'unreadable'], [12, 'no-listener'],
  ]);
  assert.match(r.rejected[0].detail, /exposes 10\.0\.0\.1, more than listener "web" allows \(bind 127\.0\.0\.1\)/);
  assert.match(r.rejected[8].detail, /EBADF/);
});

test('port 0 never matches an inherited socket', () => {
  const r = match({ web: { port: 0 } }, [cand(inet('127.0.0.1', 0))]);
  assert.equal(r.rejected[0].reason, 'no-listener');
});

test('targets: fd first, then uncovered entries; a wildcard entry served by a narrower socket is not widened', () => {
  const ls = normalizeConfig({ web: { port: 80, bind: ['*', '::1'] }, dns: { port: 53, type: 'datagram', bind: '::*', ipv6Only: true } });
  const { adopted } = matchSockets(ls, [cand(inet('127.0.0.1'), 4), cand(inet('::', 53, { type: 'dgram', listening: false, v6only: true }), 3)]);
  assert.deepEqual(planTargets(ls[0], adopted, { ipv6: true }), [{ fd: 4 }, { host: '::1', port: 80 }]);
  assert.deepEqual(planTargets(ls[1], adopted, { ipv6: true }), [{ fd: 3, type: 'udp6' }]);
  assert.deepEqual(planTargets(ls[1], [], { ipv6: true }), [{ port: 53, address: '::', type: 'udp6', ipv6Only: true }]);
  const any = normalizeConfig({ d: { port: 9, type: 'datagram' } })[0];
  assert.deepEqual(planTargets(any, [], { ipv6: true }), [{ port: 9, type: 'udp6' }]);
  assert.deepEqual(planTargets(any, [], { ipv6: false }), [{ port: 9, type: 'udp4' }]);
  assert.deepEqual(planTargets(ls[0], adopted, { ipv6: true, fdBacklog: 4096 }), [{ fd: 4, backlog: 4096 }, { host: '::1', port: 80 }]);
  assert.deepEqual(planTargets(ls[1], adopted, { ipv6: true, fdBacklog: 4096 }), [{ fd: 3, type: 'udp6' }], 'no backlog for datagram');
  const bl = normalizeConfig({ s: { port: 8, backlog: 1024 }, u: { path: '@x', backlog: 10 } });
  assert.deepEqual(planTargets(bl[0], [], { ipv6: true }), [{ port: 8, backlog: 1024 }]);
  assert.deepEqual(planTargets(bl[1], [], { ipv6: true }), [{ path: '\0x', backlog: 10 }]);
});

test('config validation: ERR_SD_INVALID_ARGUMENT with a useful message', () => {
  const bad = [
    [{ w: { host: '127.0.0.1', port: 80 } }, /unknown option "host" \(use 'bind'/],
    [{ w: { port: 80, bind: 'localhost' } }, /not a numeric IP address.*127\.0\.0\.1/],
    [{ w: { port: 80, bind: [] } }, /at least one address/],
    [{ w: { port: 80, bind: '1.2.3' } }, /not a numeric IP address/],
    [{ w: { port: 80, bind: 'fe80::1%' } }, /not a numeric IP address/],
    [{ w: { port: 70000 } }, /port must be an integer/],
    [{ w: { port: 1.5 } }, /port must be an integer/],
    [{ w: { bind: '*' } }, /bind needs a port/],
    [{ w: {} }, /needs a port, a path or an fdname/],
    [{ w: { path: '/x', port: 1 } }, /path cannot be combined/],
    [{ w: { path: '/x', type: 'datagram' } }, /unix datagram sockets are not supported/],
    [{ w: { path: `/${'x'.repeat(120)}` } }, /longer than a unix socket address/],
    [{ w: { fdname: 'a:b' } }, /fdname must be/],
    [{ w: { port: 1, type: 'seqpacket' } }, /type must be/],
    [{ w: { port: 1, backlog: 0 } }, /backlog/],
    [{ w: { port: 1, ipv6Only: 'yes' } }, /ipv6Only must be a boolean/],
    [{ w: null }, /must be an object/],
    [null, /config must be an object/],
  ];
  for (const [config, re] of bad) {
    assert.throws(() => normalizeConfig(config), (e) => e.code === 'ERR_SD_INVALID_ARGUMENT' && re.test(e.message), JSON.stringify(config));
    assert.throws(() => sd.activate(config), (e) => e.code === 'ERR_SD_INVALID_ARGUMENT', JSON.stringify(config));
  }
  assert.throws(() => sd.activate({ w: { port: 0 } }, { onWarning: 'no' }), { code: 'ERR_SD_INVALID_ARGUMENT' });
});

test('bad values are named with the field and the value: bigint, NaN, Infinity, an out-of-range pid', () => {
  for (const [port, shown] of [[80n, '80n'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['80', '"80"']]) {
    assert.throws(() => normalizeConfig({ w: { port } }), { code: 'ERR_SD_INVALID_ARGUMENT', message: `listener "w": port must be an integer 0..65535 (got ${shown})` });
  }
  assert.throws(() => normalizeConfig({ w: { port: 1, backlog: NaN } }), { code: 'ERR_SD_INVALID_ARGUMENT', message: /backlog must be an integer 1\.\.2147483647 \(got NaN\)/ });
  assert.throws(() => sd.notify({ READY: 1 }, { pid: 2 ** 31 }), { code: 'ERR_SD_INVALID_ARGUMENT', message: /pid must be an integer 1\.\.2147483647 \(got 2147483648\)/ });
  assert.throws(() => sd.notify({ READY: 1 }, { fds: [2 ** 31] }), { code: 'ERR_SD_INVALID_ARGUMENT', message: /each fd must be an integer/ });
});

test('config and options are read from own properties only: a polluted Object.prototype changes nothing', () => {
  const script = `
    Object.prototype.bind = '0.0.0.0'; Object.prototype.ipv6Only = true; Object.prototype.backlog = 7;
    Object.prototype.unsetEnvironment = false; Object.prototype.pid = 1; Object.prototype.onWarning = 5;
    const sd = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
    const a = sd.activate({ web: { port: 8080 } });
    const sent = sd.notify({ READY: 1 });
    console.log(JSON.stringify({ targets: a.targets('web'), sent }));`;
  const out = JSON.parse(require('node:child_process').execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8', env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NOTIFY_SOCKET')),
  }));
  assert.deepEqual(out, { targets: [{ port: 8080 }], sent: false });
});

test('removeStaleSocket: removes only a socket file nothing accepts on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-stale-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stale = path.join(dir, 'stale.sock');
  const fd = native.openSocket('unix', stale, 0, 16, -1);
  native.close(fd);
  assert.equal(await sd.removeStaleSocket(stale), true);
  assert.equal(fs.existsSync(stale), false);
  const live = path.join(dir, 'live.sock');
  const srv = net.createServer((c) => c.destroy());
  await new Promise((r) => srv.listen(live, r));
  assert.equal(await sd.removeStaleSocket(live), false);
  assert.equal(fs.existsSync(live), true);
  await new Promise((r) => srv.close(r));
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  assert.equal(await sd.removeStaleSocket(file), false);
  assert.equal(fs.existsSync(file), true);
  assert.equal(await sd.removeStaleSocket(path.join(dir, 'missing')), false);
  assert.equal(await sd.removeStaleSocket('@abstract'), false);
});

test('in-process activate() without socket activation: targets, errors, listen, rebind', async () => {
  const warnings = [];
  const config = {
    web: { port: 0, bind: '127.0.0.1' },
    bad: { port: 0, bind: ['127.0.0.1', '192.0.2.123'] },
    dns: { port: 0, type: 'datagram', bind: '127.0.0.1' },
  };
  const a = sd.activate(config, { onWarning: (w) => warnings.push(w) });
  assert.equal(sd.activate(JSON.parse(JSON.stringify(config))), a, 'same config: same Activation');
  assert.equal(sd.activate({ dns: config.dns, bad: config.bad, web: config.web }), a, 'listener order does not matter');
  assert.throws(() => sd.activate({ web: { port: 1 } }), { code: 'ERR_SD_ALREADY_ACTIVATED' });
  assert.equal(a.environment, 'none');
  assert.deepEqual(a.names(), ['web', 'bad', 'dns']);
  assert.deepEqual(warnings, []);
  for (const fn of [() => a.targets('nope'), () => a.inherited('nope'), () => a.rebind('nope', { port: 1 })]) {
    assert.throws(fn, (e) => e.code === 'ERR_SD_UNKNOWN_LISTENER' && /"nope".*"web"/.test(e.message));
  }
  await assert.rejects(a.listen('nope', () => net.createServer()), { code: 'ERR_SD_UNKNOWN_LISTENER' });
  await assert.rejects(a.listen('web', () => ({})), { code: 'ERR_SD_INVALID_ARGUMENT' });
  // The server must be of the listener's kind: a datagram socket given a stream target would bind every interface.
  await assert.rejects(a.listen('web', () => dgram.createSocket('udp4')), { code: 'ERR_SD_INVALID_ARGUMENT', message: /not a net\.Server .* for this stream listener/ });
  await assert.rejects(a.listen('dns', () => net.createServer()), { code: 'ERR_SD_INVALID_ARGUMENT', message: /not a dgram\.Socket for this datagram listener/ });
  assert.throws(() => a.rebind('web', { port: 0, type: 'datagram' }), { code: 'ERR_SD_INVALID_ARGUMENT', message: /stream listener; it cannot become a datagram one/ });
  assert.equal(a.inherited('web'), false);

  const [srv] = await a.listen('web', () => net.createServer((c) => c.end('web\n')));
  assert.equal(srv.listening, true);
  assert.equal(srv.address().address, '127.0.0.1');

  // A failing target closes the servers this call already started, then rejects.
  const made = [];
  await assert.rejects(a.listen('bad', () => { const s = net.createServer(); made.push(s); return s; }), { code: 'EADDRNOTAVAIL' });
  assert.equal(made.length, 2);
  assert.equal(made[0].listening, false, 'first server closed again');

  const [udp] = await a.listen('dns', (t) => dgram.createSocket(t));
  assert.ok(udp instanceof dgram.Socket);
  assert.equal(udp.address().address, '127.0.0.1');
  udp.close();

  assert.deepEqual(a.rebind('web', { port: 0, bind: '::1' }), [{ host: '::1', port: 0 }]);
  assert.deepEqual(a.targets('web'), [{ host: '::1', port: 0 }]);
  assert.throws(() => a.rebind('web', { port: 0, host: 'x' }), { code: 'ERR_SD_INVALID_ARGUMENT' });
  const rep = a.report();
  assert.equal(rep.environment, 'none');
  assert.deepEqual(rep.listeners.web, { inherited: false, adopted: [], targets: [{ host: '::1', port: 0 }], held: [] });
  assert.deepEqual(JSON.parse(JSON.stringify(rep)), rep, 'report is JSON-safe');
  await new Promise((r) => srv.close(r));
});
