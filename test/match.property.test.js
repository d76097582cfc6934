// SPDX-License-Identifier: MIT
'use strict';
// Property test of the listener-matching policy (lib/activation/match.ts) over generated
// listener configs and generated socket descriptions. An independent oracle,
// written here from the kernel's and Node's semantics (and Node's BlockList
// for address equality), decides which connections a socket accepts and which
// a bind entry allows; the matcher must agree:
//   - every adopted socket lies within what one entry of its listener allows
//     (checked over a universe of concrete destination addresses);
//   - no fd is adopted twice; every fd is either adopted or rejected with a reason;
//   - nothing the oracle allows is rejected (no needless refusals);
//   - targets: one { fd } per adopted socket, and a self-bind target exactly for
//     the entries no adopted socket overlaps (partial activation without collisions).
// Seed: printed; replay with SD_ACTIVATE_SEED=<seed> (runs: SD_ACTIVATE_RUNS).
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const fc = require('fast-check');
const { normalizeConfig } = require('../dist/activation/listeners');
const { Claims, matchSockets } = require('../dist/activation/match');
const { makePlan, planAdoptions, planTargets } = require('../dist/activation/plan');

const SEED = process.env.SD_ACTIVATE_SEED !== undefined ? Number(process.env.SD_ACTIVATE_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const RUNS = Number(process.env.SD_ACTIVATE_RUNS || 5000);

// ------------------------------------------------------------------ oracle
// A destination: { f: 4|6, a: address text, s: scope ('' when none) }.
const UNIVERSE = [
  ...['127.0.0.1', '127.0.0.2', '10.1.2.3', '192.0.2.99'].map((a) => ({ f: 4, a, s: '' })),
  ...['::1', '2001:db8::5', '2001:db8::99'].map((a) => ({ f: 6, a, s: '' })),
  ...[['fe80::1', 'lo'], ['fe80::1', 'eth0'], ['fe80::1', '2'], ['fe80::2', 'lo']].map(([a, s]) => ({ f: 6, a, s })),
];

function sameAddr(f, x, y) {
  const bl = new net.BlockList();
  bl.addAddress(x, f === 4 ? 'ipv4' : 'ipv6');
  return bl.check(y, f === 4 ? 'ipv4' : 'ipv6');
}

function splitScope(text) {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const i = t.indexOf('%');
  return i < 0 ? { a: t, s: '' } : { a: t.slice(0, i), s: t.slice(i + 1) };
}

/** IPv4 text of an IPv4-mapped IPv6 address, or null. */
function mappedV4(a) {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1] : null;
}

const isV6Any = (a) => net.isIPv6(a) && sameAddr(6, '::', a);
const isV4Any = (a) => a === '0.0.0.0';

/** Which destinations a socket accepts; null when its address makes no sense for its family (never allowed). */
function accepts(desc, p) {
  const { a, s } = splitScope(desc.address);
  if (desc.family === 'inet') {
    if (!net.isIPv4(a) || s) return null;
    return p.f === 4 && (isV4Any(a) || sameAddr(4, a, p.a));
  }
  if (desc.family === 'inet6') {
    if (!net.isIPv6(a)) return null;
    const m = mappedV4(a);
    if (m) return p.f === 4 && (isV4Any(m) || sameAddr(4, m, p.a));
    if (isV6Any(a)) return p.f === 6 || (p.f === 4 && !desc.v6only);
    return p.f === 6 && sameAddr(6, a, p.a) && s === p.s;
  }
  return null;
}

/** Which destinations a bind entry allows (entry undefined = no bind). */
function allows(entry, ipv6Only, p) {
  if (entry === undefined || entry === '::*' || entry === '::') return p.f === 6 || (p.f === 4 && !ipv6Only);
  if (entry === '*' || entry === '0.0.0.0') return p.f === 4;
  const { a, s } = splitScope(entry);
  if (net.isIPv4(a)) return p.f === 4 && sameAddr(4, a, p.a);
  const m = mappedV4(a);
  if (m) return p.f === 4 && (isV4Any(m) || sameAddr(4, m, p.a));
  return p.f === 6 && sameAddr(6, a, p.a) && s === p.s;
}

function entriesOf(cfg) {
  if (cfg.bind === undefined) return [undefined];
  return Array.isArray(cfg.bind) ? cfg.bind : [cfg.bind];
}

/** The seed's rule: the socket's family decides first; `*` takes only AF_INET sockets, `::*` only AF_INET6 ones. */
function familyGate(desc, entry) {
  if (entry === '*' || entry === '0.0.0.0') return desc.family === 'inet';
  if (entry === undefined) return true;
  const { a, s } = splitScope(entry);
  if (entry === '::*' || (s === '' && isV6Any(a) && !mappedV4(a))) return desc.family === 'inet6';
  return true;
}

const isV6AnyEntry = (e) => e === '::*' || (e !== undefined && e !== '*' && familyGate({ family: 'inet' }, e) === false);
const isV4AnyEntry = (e) => e === '*' || e === '0.0.0.0';

/**
 * Whether a socket lies within a listener's bind entries (the seed's rules):
 * every destination it accepts is allowed by an entry that may take a socket
 * of its family (the wildcards only their own, but `*` beside `::*` takes a
 * dual-stack socket's IPv4), where `::*` beside entries reaching IPv4 allows
 * IPv6 only; and at least one such entry reaches it.
 */
function withinListener(desc, cfg) {
  const v6o = cfg.ipv6Only === true;
  const entries = entriesOf(cfg);
  const v4Elsewhere = entries.some((e) => e !== undefined && !isV6AnyEntry(e) && UNIVERSE.some((p) => p.f === 4 && allows(e, v6o, p)));
  const allowsP = (e, p) => !(v4Elsewhere && isV6AnyEntry(e) && p.f === 4) && allows(e, v6o, p);
  const pair = desc.family === 'inet6' && entries.some(isV6AnyEntry);
  const admitting = entries.filter((e) => familyGate(desc, e) || (pair && isV4AnyEntry(e)));
  let any = false;
  for (const p of UNIVERSE) {
    const acc = accepts(desc, p);
    if (acc === null) return false;
    if (!acc) continue;
    any = true;
    if (!admitting.some((e) => allowsP(e, p))) return false;
  }
  return any;
}

function overlap(desc, entry, ipv6Only) {
  // The IPv6 wildcard is served only by a socket reaching IPv6 destinations.
  const v6any = entry !== undefined && entry !== '*' && entry !== '0.0.0.0' && familyGate({ family: 'inet' }, entry) === false;
  return UNIVERSE.some((p) => accepts(desc, p) === true && allows(entry, ipv6Only, p) && (!v6any || p.f === 6));
}

const kindOf = (desc) => (desc.type === 'dgram' ? 'datagram' : 'stream');

/** Whether Node can serve this fd at all. */
function servable(desc) {
  if (!desc || desc.fileType !== 'socket') return false;
  const inet = desc.family === 'inet' || desc.family === 'inet6';
  if (desc.type === 'stream') return (inet || desc.family === 'unix') && desc.listening;
  return desc.type === 'dgram' && inet;
}

/** The oracle: may listener `cfg` take candidate `c`? */
function oracleAllows(cfg, c) {
  const d = c.desc;
  if (!servable(d)) return false;
  if ((cfg.type || 'stream') !== kindOf(d)) return false;
  // A name never widens: the port, bind or path given with it must hold too.
  if (cfg.fdname !== undefined && c.name !== cfg.fdname) return false;
  if (cfg.fdname !== undefined && cfg.port === undefined && cfg.path === undefined) return true;
  if (cfg.path !== undefined) {
    return d.family === 'unix' && d.path !== '' && (d.path === cfg.path || d.path === path.resolve(cfg.path));
  }
  if (d.family === 'unix') return false;
  if (cfg.port === undefined || (cfg.port === 0 ? cfg.fdname === undefined : d.port !== cfg.port)) return false;
  return withinListener(d, cfg);
}

// ------------------------------------------------------------------ generators
const ENTRY = fc.constantFrom('*', '::*', '0.0.0.0', '::', '127.0.0.1', '127.0.0.2', '10.1.2.3', '::1', '[::1]',
  '0:0:0:0:0:0:0:1', 'fe80::1%lo', 'FE80::1%eth0', 'fe80::1%2', '::ffff:127.0.0.1', '::ffff:10.1.2.3', '2001:db8::5');
const PORT = fc.constantFrom(0, 53, 80, 8080);
const TYPE = fc.constantFrom(undefined, 'stream', 'datagram');
const CPATH = fc.constantFrom('/run/a.sock', '/run/b.sock', '@abs', 'rel.sock');
const NAME = fc.constantFrom('web', 'api', 'unknown', 'stored');

const strip = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const inetListener = fc.record({
  port: PORT,
  bind: fc.option(fc.oneof(ENTRY, fc.array(ENTRY, { minLength: 1, maxLength: 3 })), { nil: undefined }),
  ipv6Only: fc.option(fc.boolean(), { nil: undefined }),
  type: TYPE,
}).map(strip);
const unixListener = fc.record({ path: CPATH }).map(strip);
const nameListener = fc.oneof(
  fc.record({
    fdname: NAME,
    port: fc.option(PORT, { nil: undefined }),
    bind: fc.option(fc.oneof(ENTRY, fc.array(ENTRY, { minLength: 1, maxLength: 2 })), { nil: undefined }),
    type: TYPE,
  }).map((l) => strip(l.port === undefined ? { ...l, bind: undefined } : l)),
  fc.record({ fdname: NAME, path: CPATH }),
);
const LISTENERS = fc.array(fc.oneof({ arbitrary: inetListener, weight: 4 }, unixListener, nameListener), { minLength: 0, maxLength: 4 })
  .map((ls) => Object.fromEntries(ls.map((l, i) => [`l${i}`, l])));

const SOCK_ADDR = fc.constantFrom('0.0.0.0', '127.0.0.1', '127.0.0.2', '10.1.2.3', '::', '::1', 'fe80::1%lo', 'fe80::1%eth0',
  'fe80::1%2', 'fe80::2%lo', '::ffff:127.0.0.1', '::ffff:10.1.2.3', '::ffff:0.0.0.0', '2001:db8::5', '2001:db8::99', 'garbage');
const SOCK_PATH = fc.constantFrom('/run/a.sock', '/run/b.sock', '@abs', '@abs\0\0', path.resolve('rel.sock'), '');
const inetDesc = fc.record({
  address: SOCK_ADDR,
  family: fc.constantFrom('inet', 'inet6', 'auto', 'auto', 'auto'),
  type: fc.constantFrom('stream', 'stream', 'dgram', 'seqpacket'),
  listening: fc.boolean(),
  port: fc.constantFrom(53, 80, 8080),
  v6only: fc.boolean(),
}).map((d) => {
  const fam = d.family === 'auto' ? (splitScope(d.address).a.includes(':') ? 'inet6' : 'inet') : d.family;
  return { fileType: 'socket', family: fam, type: d.type, listening: d.type === 'dgram' ? false : d.listening,
    address: d.address, port: d.port, path: '', v6only: fam === 'inet6' && d.v6only };
});
const unixDesc = fc.record({
  path: SOCK_PATH,
  type: fc.constantFrom('stream', 'stream', 'dgram', 'seqpacket'),
  listening: fc.boolean(),
}).map((d) => ({ fileType: 'socket', family: 'unix', type: d.type, listening: d.type === 'dgram' ? false : d.listening,
  address: '', port: 0, path: d.path, v6only: false }));
const otherDesc = fc.constantFrom(
  { fileType: 'file', family: '', type: 'none', listening: false, address: '', port: 0, path: '', v6only: false },
  { fileType: 'fifo', family: '', type: 'none', listening: false, address: '', port: 0, path: '', v6only: false },
  { fileType: 'socket', family: 'other', type: 'stream', listening: true, address: '', port: 0, path: '', v6only: false },
  undefined, // could not be described
);
const CANDIDATES = fc.array(fc.record({
  desc: fc.oneof({ arbitrary: inetDesc, weight: 6 }, { arbitrary: unixDesc, weight: 2 }, otherDesc),
  name: NAME,
}), { maxLength: 8 }).map((cs) => cs.map((c, i) => (c.desc ? { fd: 3 + i, name: c.name, desc: c.desc }
  : { fd: 3 + i, name: c.name, error: 'EBADF' })));

const REASONS = new Set(['unreadable', 'not-a-socket', 'unsupported', 'not-listening', 'kind-mismatch', 'address-not-allowed', 'no-listener']);

function entryHost(e) {
  if (e === undefined) return undefined;
  if (e === '*') return '0.0.0.0';
  if (e === '::*') return '::';
  return e.startsWith('[') ? e.slice(1, -1) : e;
}

function checkCase(config, candidates) {
  const listeners = normalizeConfig(config);
  const { adopted, rejected } = matchSockets(listeners, candidates);

  // Partition: every fd exactly once, each rejection with a reason and words.
  const adoptedFds = adopted.map((a) => a.fd);
  assert.equal(new Set(adoptedFds).size, adoptedFds.length, 'an fd adopted twice');
  const all = [...adoptedFds, ...rejected.map((r) => r.fd)].sort((a, b) => a - b);
  assert.deepEqual(all, candidates.map((c) => c.fd), 'every fd adopted or rejected, once');
  for (const r of rejected) {
    assert.ok(REASONS.has(r.reason), `unknown reason ${r.reason}`);
    assert.ok(typeof r.detail === 'string' && r.detail.length > 0, 'rejection without words');
  }

  const byFd = new Map(candidates.map((c) => [c.fd, c]));
  // Soundness: adopted => within what its listener allows.
  for (const a of adopted) {
    const cfg = config[a.listener];
    assert.ok(cfg, `adopted by unknown listener ${a.listener}`);
    assert.ok(oracleAllows(cfg, byFd.get(a.fd)), `fd ${a.fd} ${JSON.stringify(byFd.get(a.fd))} adopted by ${a.listener} ${JSON.stringify(cfg)}`);
    // Names first: a socket some fdname listener may take goes to an fdname listener.
    const namedOk = Object.values(config).some((c) => c.fdname !== undefined && oracleAllows(c, byFd.get(a.fd)));
    if (namedOk) assert.ok(cfg.fdname !== undefined, `fd ${a.fd} should go to an fdname listener`);
  }
  // Completeness: rejected => no listener allows it.
  for (const r of rejected) {
    const c = byFd.get(r.fd);
    for (const [name, cfg] of Object.entries(config)) {
      assert.ok(!oracleAllows(cfg, c), `fd ${r.fd} ${JSON.stringify(c)} rejected (${r.reason}: ${r.detail}) but ${name} ${JSON.stringify(cfg)} allows it`);
    }
  }

  // Targets.
  for (const l of listeners) {
    const cfg = config[l.name];
    const mine = adopted.filter((a) => a.listener === l.name).sort((x, y) => x.fd - y.fd);
    const targets = planTargets(l, adopted, { ipv6: true });
    const fdTargets = targets.filter((t) => 'fd' in t);
    const selfTargets = targets.filter((t) => !('fd' in t));
    assert.deepEqual(fdTargets.map((t) => t.fd), mine.map((a) => a.fd), `${l.name}: one { fd } per adopted socket`);
    if (cfg.type === 'datagram') {
      for (const t of fdTargets) assert.equal(t.type, byFd.get(t.fd).desc.family === 'inet6' ? 'udp6' : 'udp4');
    }
    if (cfg.fdname !== undefined && mine.length > 0) {
      assert.deepEqual(selfTargets, [], `${l.name}: no fallback once a named socket is adopted`);
      continue;
    }
    if (cfg.path !== undefined) {
      const want = mine.length > 0 ? [] : [cfg.path.startsWith('@') ? `\0${cfg.path.slice(1)}` : cfg.path];
      assert.deepEqual(selfTargets.map((t) => t.path), want, `${l.name}: path target`);
      continue;
    }
    if (cfg.port === undefined) {
      assert.deepEqual(selfTargets, [], `${l.name}: nothing to bind`);
      continue;
    }
    const v6o = cfg.ipv6Only === true;
    const free = entriesOf(cfg).filter((e) => !mine.some((a) => overlap(byFd.get(a.fd).desc, e, v6o)));
    const expectHosts = new Set(free.map((e) => String(entryHost(e))));
    const gotHosts = selfTargets.map((t) => String(cfg.type === 'datagram' ? t.address : t.host));
    // Entries that allow the same destinations (e.g. '*' and '0.0.0.0', '::1' and '[::1]') are bound once.
    const same = (x, y) => UNIVERSE.every((p) => allows(x, v6o, p) === allows(y, v6o, p));
    const classes = [];
    for (const e of free) if (!classes.some((k) => same(k, e))) classes.push(e);
    for (const h of gotHosts) assert.ok(expectHosts.has(h), `${l.name}: unexpected self-bind ${h} (want ${[...expectHosts]})`);
    assert.equal(gotHosts.length, classes.length, `${l.name}: self-bind targets ${gotHosts} for free entries ${free}`);
    // Self-bound sockets of one listener never collide: a dual-stack [::] bind cannot sit beside an IPv4 bind on the port.
    const hostOf = (t) => (cfg.type === 'datagram' ? t.address : t.host);
    const dual = selfTargets.filter((t) => (hostOf(t) === '::' || hostOf(t) === undefined) && !t.ipv6Only);
    const v4 = selfTargets.filter((t) => hostOf(t) !== undefined && net.isIPv4(hostOf(t)));
    assert.ok(dual.length === 0 || v4.length === 0 || cfg.port === 0, `${l.name}: dual-stack self-bind beside IPv4 ${JSON.stringify(selfTargets)}`);
    for (const t of selfTargets) {
      assert.equal(t.port, cfg.port);
      const host = cfg.type === 'datagram' ? t.address : t.host;
      for (const a of mine) {
        assert.ok(!overlap(byFd.get(a.fd).desc, host === undefined ? undefined : host, v6o),
          `${l.name}: self-bind ${host} collides with adopted fd ${a.fd}`);
      }
    }
  }
}

test(`matcher properties (seed ${SEED}, ${RUNS} runs; replay with SD_ACTIVATE_SEED=${SEED})`, (t) => {
  t.diagnostic(`seed ${SEED}`);
  console.log(`# match.property: seed ${SEED} (replay: SD_ACTIVATE_SEED=${SEED})`);
  fc.assert(fc.property(LISTENERS, CANDIDATES, checkCase), { seed: SEED, numRuns: RUNS });
});

// The incremental claim (one listener at a time, rejections decided at settle)
// against the batch match: with every listener known up front, any order of
// claims gives the batch's answer; with listeners learnt one at a time (a
// preload), the answer is still sound, and it is the batch's whenever no two
// listeners may take the same socket. The plan survives JSON and gives the
// same targets.
function permutation(n, seed) {
  const order = [...Array(n).keys()];
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0;
    const j = x % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function checkClaims(config, candidates, seed) {
  const listeners = normalizeConfig(config);
  const batch = matchSockets(listeners, candidates);
  const order = permutation(listeners.length, seed);

  const known = new Claims(candidates, listeners);
  const got = order.map((i) => known.claim(listeners[i]));
  for (const [k, i] of order.entries()) {
    assert.deepEqual(got[k], batch.adopted.filter((a) => a.listener === listeners[i].name).sort((x, y) => x.fd - y.fd),
      `claim by ${listeners[i].name} (order ${order}) differs from the batch`);
  }
  assert.deepEqual(known.settle(), batch, `claims in order ${order} differ from the batch`);

  const learnt = new Claims(candidates);
  for (const l of listeners) learnt.claim(l);
  const inc = learnt.settle();
  const byFd = new Map(candidates.map((c) => [c.fd, c]));
  const all = [...inc.adopted.map((a) => a.fd), ...inc.rejected.map((r) => r.fd)].sort((a, b) => a - b);
  assert.deepEqual(all, candidates.map((c) => c.fd), 'incremental: every fd adopted or rejected, once');
  for (const a of inc.adopted) assert.ok(oracleAllows(config[a.listener], byFd.get(a.fd)), `incremental: fd ${a.fd} adopted by ${a.listener} beyond what it allows`);
  const contested = candidates.some((c) => Object.values(config).filter((cfg) => oracleAllows(cfg, c)).length > 1);
  if (!contested) assert.deepEqual(inc, batch, 'incremental claims of uncontested listeners differ from the batch');

  const plan = JSON.parse(JSON.stringify(makePlan(listeners, batch.adopted, { ipv6: true, fdBacklog: 4096 })));
  const again = normalizeConfig(Object.fromEntries(plan.listeners.map((l) => [l.name, l.config])));
  const adopted = planAdoptions(plan);
  assert.deepEqual([...adopted].sort((x, y) => x.fd - y.fd), [...batch.adopted].sort((x, y) => x.fd - y.fd), 'plan: the adoptions survive JSON');
  for (const [i, l] of again.entries()) {
    assert.deepEqual(planTargets(l, adopted, plan.options), plan.listeners[i].targets, `plan: ${l.name}'s targets`);
    assert.deepEqual(plan.listeners[i].targets, planTargets(listeners[i], batch.adopted, { ipv6: true, fdBacklog: 4096 }));
  }
}

test(`incremental claims give the batch's answers (seed ${SEED}, ${RUNS} runs)`, () => {
  fc.assert(fc.property(LISTENERS, CANDIDATES, fc.integer(), checkClaims), { seed: SEED, numRuns: RUNS });
});

test('oracle sanity: the documented examples', () => {
  const d = (address, v6only = false) => ({ fileType: 'socket', family: address.includes(':') ? 'inet6' : 'inet', type: 'stream',
    listening: true, address, port: 80, path: '', v6only });
  const c = (desc) => ({ fd: 3, name: 'unknown', desc });
  assert.equal(oracleAllows({ port: 80, bind: '127.0.0.1' }, c(d('0.0.0.0'))), false);
  assert.equal(oracleAllows({ port: 80, bind: '*' }, c(d('::', false))), false);
  assert.equal(oracleAllows({ port: 80, bind: '::*' }, c(d('::', false))), true);
  assert.equal(oracleAllows({ port: 80, bind: '::*', ipv6Only: true }, c(d('::', false))), false);
  assert.equal(oracleAllows({ port: 80, bind: '127.0.0.1' }, c(d('::ffff:127.0.0.1'))), true);
  assert.equal(oracleAllows({ port: 80, bind: 'fe80::1%lo' }, c(d('fe80::1%eth0'))), false);
  assert.equal(oracleAllows({ port: 80 }, c(d('fe80::1%eth0'))), true);
  // And the matcher agrees on them.
  for (const [cfg, desc, want] of [
    [{ port: 80, bind: '127.0.0.1' }, d('0.0.0.0'), 0],
    [{ port: 80, bind: '*' }, d('::', false), 0],
    [{ port: 80, bind: '::*' }, d('::', false), 1],
    [{ port: 80, bind: '127.0.0.1' }, d('::ffff:127.0.0.1'), 1],
    [{ port: 80, bind: '0:0::1' }, d('::1'), 1],
  ]) {
    const r = matchSockets(normalizeConfig({ x: cfg }), [c(desc)]);
    assert.equal(r.adopted.length, want, `${JSON.stringify(cfg)} vs ${desc.address}`);
  }
});
