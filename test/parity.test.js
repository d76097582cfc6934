// SPDX-License-Identifier: MIT
'use strict';
// Backend parity: the builtin backend must give libsystemd's answer for every
// value a service manager (or anyone who writes a unit file) can put in
// LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES / WATCHDOG_USEC / WATCHDOG_PID /
// NOTIFY_SOCKET, and for every sd_is_socket_* parameter. Cases come from a
// fast-check property over one case; for speed the generated cases are run
// in a batch first, one child per backend running all of them against the
// raw native primitives, and the property reads each case's results from the
// batch. A divergence is then shrunk by fast-check, each shrink step running
// its one case in two fresh children. At least half the cases are well-formed
// activations for the child (LISTEN_FDS 1..3, exactly that many names), so the
// paths where fds and names are actually passed are compared most.
// The children use the test addon (test/native): the product's native sources
// built with libsystemd wherever the host has it, so the comparison runs in
// builds whose product has no libsystemd (USE_SYSTEMD=no) too, and it brings
// the reference each result is held against, libsystemd's own blocking notify.
//
//   SD_ACTIVATE_SEED=<n> [SD_ACTIVATE_PATH=<p>] npm test -- test/parity.test.js
//                                 replays a run [one shrunk case] (helpers/property.js)
//   SD_ACTIVATE_PARITY_CASES=<n>  more or fewer cases (default 2000)
//
// It spawns its own two children, so it runs once per `npm test`, in the pass
// of the first backend available (helpers/backends.js).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const fc = require('fast-check');
const native = require('./helpers/native');
const { openSocket, startChild } = require('./helpers/child');
const { backendAvailable, crossBackendSkip } = require('./helpers/backends');
const { seed, replayPath, assertProperty } = require('./helpers/property');

const CHILD = path.join(__dirname, 'fixtures', 'parity-child.js');
const count = Number(process.env.SD_ACTIVATE_PARITY_CASES || 2000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-parity-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------- generator

const ws = fc.constantFrom('', '', '', '', ' ', '\t', '\n', '\r', '\v', '\f', ' \t ', '\u00a0', '\u3000');
const sign = fc.constantFrom('', '', '', '', '+', '-', '--', '+-', '-+', '++');
const prefix = fc.constantFrom('', '', '', '', '0x', '0X', '0o', '0O', '0b', '0B', '0', '00', '0x0', '0b0', '0o0');
const tail = fc.constantFrom('', '', '', '', '', ' ', '\t', '\n', 'x', '.0', '.', 'e3', '-', 'é', ':', '\0', '\u00001',
  'L', 'u', '\u200b');
const edge = fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '15', '16', '17', '20',
  '25', '64', '100', '255', '256', '1000', '32768', '4194304', '2147483643', '2147483644', '2147483645', '2147483646',
  '2147483647', '2147483648', '4294967295', '4294967296', '4294967299', '9223372036854775807', '9223372036854775808',
  '18446744073709551614', '18446744073709551615', '18446744073709551616', '99999999999999999999999999', 'ff', 'FF', 'fF',
  '1f', '101', 'z', '', '1_000', '1,0', '١', '４', `${'0'.repeat(40)}1`, '9'.repeat(400), '0'.repeat(5000));
const digits = fc.oneof(
  { weight: 6, arbitrary: edge },
  { weight: 2, arbitrary: fc.nat({ max: 40 }).map(String) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,24}$/) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 1n << 70n }).map(String) },
);
// Pid tokens, filled in by each child: its own pid, pid + 1, -pid, its
// parent's pid. They are written in the base the prefix implies, so the text
// is equally valid in both children (whose pids differ).
const pidDigits = fc.oneof({ weight: 6, arbitrary: fc.constant('pid') },
  { weight: 2, arbitrary: fc.constantFrom('pid+1', 'ppid', 'pid-neg') }, { weight: 2, arbitrary: digits });

/** A number-like string: whitespace, sign, base prefix, digits, trailing junk. */
function numberLike(d) {
  return fc.tuple(ws, sign, prefix, d, tail).map(([w, s, p, n, t]) => {
    if (['pid', 'pid+1', 'ppid', 'pid-neg'].includes(n)) {
      const b = /^0[xX]/.test(p) ? 16 : /^0[oO]/.test(p) || p === '0' || p === '00' ? 8 : /^0[bB]/.test(p) ? 2 : 10;
      n = `{${n}:${b}}`;
    }
    return w + s + p + n + t;
  });
}

const junk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('', ' ', ':::', ':', '::', '\\', '@', '/', '\0', 'x'.repeat(10000), ' '.repeat(5000), '-'.repeat(64)),
);
/** Unset (undefined) sometimes, a number-like value mostly, junk sometimes. */
const envNumber = (d) => fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 7, arbitrary: numberLike(d) }, { weight: 2, arbitrary: junk });

const nameParts = fc.constantFrom('a', 'web', 'dns', '', '', ':', ':', '::', '\\', '\\:', '\\\\', '\\a', 'é', '"q:r"', "'",
  ' ', '\t', '\0', '\u2400', 'x'.repeat(300), 'unknown', '@', '/');
const fdnames = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.array(nameParts, { maxLength: 10 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: junk });

const notifySocket = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.constantFrom('{recv}', '@{recv-abs}') },
  { weight: 4, arbitrary: fc.constantFrom('', '@', '/', '//', 'relative', 'run/notify', '@x', '/nonexistent/notify',
    '/dev/null', '/dev/null/x', '/tmp', '{recv}x', '{recv}/', '{recv}/x', ' {recv}', '{recv} ', '@{recv-abs}x', '@@{recv-abs}',
    '/{recv-abs}', 'unix:{recv}', 'vsock:2:3', 'vsock::', 'vsock-dgram:1:1', '@\u00e9t\u00e9', '/\u00e9t\u00e9',
    `/${'a'.repeat(106)}`, `/${'a'.repeat(107)}`, `/${'a'.repeat(108)}`, `@${'a'.repeat(106)}`, `@${'a'.repeat(107)}`,
    `@${'a'.repeat(108)}`, `/${'a/'.repeat(2100)}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/', '@'), fc.integer({ min: 100, max: 112 })).map(([p, n]) => p + 'b'.repeat(n)) },
  { weight: 1, arbitrary: junk },
);

const notifyArgs = fc.record({
  pid: fc.constantFrom(0, 0, 0, '{pid:10}', 1, -1, 2147483647, '{ppid:10}'),
  state: fc.constantFrom('READY=1', 'READY=1', 'STATUS=é ✓', '', 'FDSTORE=1\nFDNAME=x', `X=${'y'.repeat(70000)}`),
  fds: fc.constantFrom([], [], [], [3], [3, 4, 5], ['{s:5}'], [-1], [9999]),
});

const probe = fc.record({
  fd: fc.constantFrom(...Array.from({ length: 11 }, (_, i) => `{s:${i}}`), -1, -2147483648, 9999, 0, 1, 3, 4, 5),
  family: fc.constantFrom(0, 0, 2, 10, 1, -1, 3, 2147483647),
  type: fc.constantFrom(0, 0, 1, 2, 5, 3, -1, 99),
  listening: fc.constantFrom(-1, -1, 0, 1, 2, -2),
  port: fc.constantFrom(0, 0, '{port}', '{port}', '{port+1}', 1, 65535, 65536, -1),
  path: fc.constantFrom(null, null, '', '@', '{path}', '{path}', '{path}x', '{path-1}', '/nonexistent', '@nonexistent'),
});

const wildEnv = fc.record({
  LISTEN_PID: envNumber(pidDigits),
  LISTEN_FDS: envNumber(digits),
  LISTEN_FDNAMES: fdnames,
  WATCHDOG_USEC: envNumber(digits),
  WATCHDOG_PID: envNumber(pidDigits),
  NOTIFY_SOCKET: notifySocket,
});
// Mostly well-formed activation variables, so that names are actually split
// and returned (the wild ones rarely get past LISTEN_PID).
const activationEnv = fc.record({
  LISTEN_PID: fc.constantFrom('{pid:10}', '{pid:10}', ' {pid:10}', '+{pid:10}', '0x{pid:16}', '{ppid:10}'),
  LISTEN_FDS: fc.constantFrom('1', '2', '3', '3', '01', '0x3', ' 2', '4', '64', '2147483644'),
  LISTEN_FDNAMES: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: fc.array(nameParts, { maxLength: 5 }).map((a) => a.join('')) }),
  WATCHDOG_USEC: fc.constantFrom(undefined, '1000000', '0'),
  WATCHDOG_PID: fc.constantFrom(undefined, '{pid:10}'),
  NOTIFY_SOCKET: fc.constantFrom(undefined, '{recv}'),
});

// Fds actually passed: LISTEN_PID the child's own pid, LISTEN_FDS 1..3 (the
// child holds fds 3, 4, 5) and exactly that many names, which neither
// backend may split differently (no ':' and no '\' inside a name). `passed`
// is what sd_listen_fds_with_names(3) must return.
const fdName = fc.oneof(fc.constantFrom('web', 'dns', 'a', 'unknown', 'é', ' ', '\t', '"q', "'", '@', '/', '\u2400',
  'x'.repeat(300)), fc.stringMatching(/^[A-Za-z0-9_.-]{1,16}$/));
const passedCase = fc.record({
  names: fc.array(fdName, { minLength: 1, maxLength: 3 }),
  WATCHDOG_USEC: fc.constantFrom(undefined, '1000000', '0'),
  WATCHDOG_PID: fc.constantFrom(undefined, '{pid:10}'),
  NOTIFY_SOCKET: fc.constantFrom(undefined, '{recv}', '@{recv-abs}'),
  notify: notifyArgs,
  probe,
}).map(({ names, notify, probe: p, ...rest }) => ({
  env: { LISTEN_PID: '{pid:10}', LISTEN_FDS: String(names.length), LISTEN_FDNAMES: names.join(':'), ...rest },
  passed: names, notify, probe: p,
}));

const caseArb = fc.oneof(
  { weight: 2, arbitrary: fc.record({ env: wildEnv, notify: notifyArgs, probe }) },
  { weight: 1, arbitrary: fc.record({ env: activationEnv, notify: notifyArgs, probe }) },
  { weight: 4, arbitrary: passedCase },
);

// ---------------------------------------------------------------- runner

let runId = 0;
async function runBackend(backend, casesFile, receiver) {
  const id = runId++;
  const outFile = path.join(tmp, `${backend}-${id}.json`);
  const fds = [openSocket('tcp', '127.0.0.1', 0).fd, openSocket('udp', '127.0.0.1', 0).fd,
    openSocket('unix', path.join(tmp, `${backend}-${id}-inherited.sock`)).fd];
  const child = startChild({ script: CHILD, args: [casesFile, outFile, receiver.path, receiver.abstract], fds,
    listenFds: null, listenPid: null, env: { SD_ACTIVATE_BACKEND: backend }, timeout: 120000 });
  const r = await child.done;
  assert.equal(r.signal, null, `${backend} child killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.code, 0, `${backend} child failed: ${r.stderr}`);
  const out = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  fs.rmSync(outFile);
  assert.equal(out.backend, backend);
  return out;
}

/** Both children over `cases`: [libsystemd results, builtin results], case by case. */
async function runBoth(cases, receiver) {
  const casesFile = path.join(tmp, `cases-${runId++}.json`);
  fs.writeFileSync(casesFile, JSON.stringify(cases));
  const [lib, builtin] = await Promise.all([runBackend('libsystemd', casesFile, receiver), runBackend('builtin', casesFile, receiver)]);
  fs.rmSync(casesFile);
  assert.deepEqual(builtin.openAtStart, lib.openAtStart, 'both children start with the same fd table');
  assert.equal(lib.results.length, cases.length);
  assert.equal(builtin.results.length, cases.length);
  return cases.map((c, i) => [lib.results[i], builtin.results[i]]);
}

const show = (v) => JSON.stringify(v, (k, x) => (typeof x === 'string' && x.length > 60 ? `${x.slice(0, 40)}...(${x.length})` : x));
const errName = (r) => (typeof r === 'number' && r < 0 ? util.getSystemErrorName(r) : r);

/** Where the backends (or the main-thread sender and libsystemd's own notify) disagree on one case. */
function divergences(a, b) {
  const found = [];
  for (const k of Object.keys(a)) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) found.push({ k, libsystemd: a[k], builtin: b[k] });
  }
  // The main-thread sender (the same code on both backends) must agree with libsystemd's own notify.
  if (a.notify !== a.notifyAsync) found.push({ k: 'notify vs libsystemd notify', libsystemd: a.notifyAsync, builtin: a.notify });
  // And sent to the same text as an explicit address, it must give libsystemd's answer for NOTIFY_SOCKET.
  if ('notifyTo' in a && a.notifyTo !== a.notifyAsync) {
    found.push({ k: 'notify to an explicit address vs libsystemd notify', libsystemd: a.notifyAsync, builtin: a.notifyTo });
  }
  return found.map((d) => `${d.k}: libsystemd ${show(d.libsystemd)} (${errName(d.libsystemd?.result ?? d.libsystemd)}), ` +
    `builtin ${show(d.builtin)} (${errName(d.builtin?.result ?? d.builtin)})`);
}

/** The property for one case and its two results. */
function checkCase(c, [a, b]) {
  const found = divergences(a, b);
  assert.ok(found.length === 0, `backends diverge on ${show(c)}:\n  ${found.join('\n  ')}`);
  if (c.passed) {
    assert.deepEqual(a.listen, { result: c.passed.length, names: c.passed }, `fds passed, names returned: ${show(c)}`);
  }
}

test(`builtin gives libsystemd's result for generated environments and probes (seed ${seed})`, { skip: crossBackendSkip() }, async (t) => {
  if (!backendAvailable('libsystemd', 'test')) {
    t.skip('the test addon has no libsystemd backend (libsystemd.so.0 is not on this host): nothing to compare against');
    return;
  }
  assert.ok(backendAvailable('builtin', 'test'));

  // The real receiver lives in this process, so fds it receives never
  // change the children's fd tables.
  let received = 0;
  const receiver = { path: path.join(tmp, 'notify.sock'), abstract: `@sdact-parity-${process.pid}` };
  const handlers = [receiver.path, receiver.abstract].map((address) => new native.NotifyReceiver(address, (text, pid, fds) => {
    received++;
    for (const fd of fds) native.close(fd);
  }));
  t.after(() => { for (const h of handlers) h.close(); });

  // The batch: the cases fc.assert generates below (the same seed gives the
  // same values in the same order), run at once in two children. A replayed
  // path has one case: no batch.
  const cases = replayPath ? [] : fc.sample(caseArb, { seed, numRuns: count });
  let started = Date.now();
  const pairs = cases.length ? await runBoth(cases, receiver) : [];
  const batch = new Map(cases.map((c, i) => [JSON.stringify(c), pairs[i]]));
  t.diagnostic(`${cases.length} cases on both backends in ${Date.now() - started} ms; ${received} datagrams received`);

  let fromBatch = 0;
  let alone = 0;
  started = Date.now();
  const property = fc.asyncProperty(caseArb, async (c) => {
    let pair = batch.get(JSON.stringify(c));
    if (pair) fromBatch++;
    else {
      alone++; // a shrink step (or a replayed path): this case alone, in two fresh children
      [pair] = await runBoth([c], receiver);
    }
    checkCase(c, pair);
  });
  try {
    await assertProperty(t, 'test/parity.test.js', property, { numRuns: count });
  } finally {
    if (alone) t.diagnostic(`${alone} cases run alone (shrinking) in ${Date.now() - started} ms`);
  }
  if (replayPath) return;
  assert.equal(fromBatch, count, 'the property saw exactly the batch\'s cases');
  assert.equal(alone, 0);

  // The generator must reach every kind of answer, or the comparison says little.
  const lib = pairs.map(([a]) => a);
  const kinds = (f) => {
    const m = new Map();
    for (const r of lib.map(f)) { const k = r > 0 ? 'positive' : errName(r); m.set(k, (m.get(k) || 0) + 1); }
    return m;
  };
  const list = (m) => [...m].map(([k, n]) => `${k} ${n}`).join(', ');
  const listen = kinds((r) => r.listen.result);
  for (const k of ['positive', 0, 'EINVAL', 'ERANGE', 'EBADF']) assert.ok(listen.has(k), `listenFds never gave ${k}: ${list(listen)}`);
  // Most cases must pass fds and return their names, or the comparison is mostly of refusals.
  const named = lib.filter((r) => r.listen.result > 0 && r.listen.names.length === r.listen.result &&
    r.listen.names.some((n) => n !== 'unknown'));
  assert.ok(listen.get('positive') >= count / 2, `fds passed in only ${listen.get('positive')} of ${count} cases`);
  assert.ok(named.length >= count / 2, `names returned in only ${named.length} of ${count} cases`);
  const split = lib.filter((r, i) => r.listen.result > 1 && /[\\:]/.test(cases[i].env.LISTEN_FDNAMES || ''));
  assert.ok(split.length > 0, 'no case had several fds with names to split');
  const watchdog = kinds((r) => r.watchdog.result);
  for (const k of ['positive', 0, 'EINVAL', 'ERANGE']) assert.ok(watchdog.has(k), `watchdogEnabled never gave ${k}`);
  const notify = kinds((r) => r.notify);
  for (const k of ['positive', 0, 'EINVAL', 'ENOENT', 'ECONNREFUSED']) assert.ok(notify.has(k), `notify never gave ${k}: ${list(notify)}`);
  const explicit = kinds((r) => ('notifyTo' in r ? r.notifyTo : 'unset'));
  for (const k of ['positive', 'EINVAL', 'ENOENT', 'ECONNREFUSED']) assert.ok(explicit.has(k), `explicit notify never gave ${k}: ${list(explicit)}`);
  const probes = kinds((r) => r.inet);
  for (const k of ['positive', 0, 'EINVAL', 'EBADF']) assert.ok(probes.has(k), `isSocketInet never gave ${k}`);
  assert.ok(kinds((r) => r.unix).has('positive'));
  t.diagnostic(`answers (libsystemd): listenFds ${list(listen)} (${named.length} with names, ${split.length} with names split); ` +
    `watchdogEnabled ${list(watchdog)}; notify ${list(notify)}; explicit notify ${list(explicit)}; isSocketInet ${list(probes)}`);
});
