// SPDX-License-Identifier: MIT
'use strict';
// The public API under generated activation / notify / watchdog environments
// (issue 7): no crash and no exception escapes activate(); notify and the
// watchdog return their documented results or throw coded errors; only a
// socket that matches the listener is adopted, and only when the environment
// is for this process; both backends give the same answer.
// A fast-check property: each case runs one child per backend (activation is
// once per process), the two in parallel; a failing case is shrunk, each
// shrink step spawning its two children again.
//   SD_ACTIVATE_FUZZ_CASES=<n>   cases (default 40; .ci/run runs 1,000 in its first leg)
//   SD_ACTIVATE_SEED=<n> [SD_ACTIVATE_PATH=<p>] npm test -- test/env-fuzz.test.js   replays (helpers/property.js)
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { availableBackends, crossBackendSkip } = require('./helpers/backends');
const { openSocket, runChild } = require('./helpers/child');
const { seed, assertProperty } = require('./helpers/property');

const CASES = Number(process.env.SD_ACTIVATE_FUZZ_CASES || 40);
const backends = availableBackends();

const number = fc.oneof(
  fc.constantFrom('1', '2', '0', '-1', '3', ' 1', '1 ', '0x1', '01', '+1', '', 'x', '2147483647', '99999999999999999999', '１'),
  fc.nat({ max: 9 }).map(String),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const names = fc.oneof(fc.constant(undefined), fc.constantFrom('web', '', ':', 'a:b', 'web:', '\\', 'x'.repeat(300)),
  fc.string({ unit: 'grapheme', maxLength: 8 }));
const pid = fc.oneof({ weight: 4, arbitrary: fc.constant('self') },
  { weight: 1, arbitrary: fc.constantFrom('1', '0', '-5', '', 'abc', ' ', '4194304', '99999999999') });
const notifySocket = fc.oneof(fc.constant(undefined),
  fc.constantFrom('', '@', '/', 'relative/x', '/nonexistent/notify', '@sdact-fuzz-none', `/${'x'.repeat(200)}`, '\u00e9'),
  fc.string({ maxLength: 10 }).map((s) => `@${s}`));
const watchdogUsec = fc.oneof(fc.constant(undefined), number, fc.constantFrom('0', '18446744073709551615', '1000000'));
const watchdogPid = fc.oneof(fc.constant(undefined), fc.constantFrom('1', '0', 'x', ''), number);
const wild = fc.record({ pid, fds: fc.option(number, { nil: undefined }), names, notifySocket, watchdogUsec, watchdogPid });
// Well-formed activation for this process, so adoption is exercised beside the junk.
const valid = fc.record({ pid: fc.constant('self'), fds: fc.constant('1'), names: fc.constantFrom(undefined, 'web', 'http', 'a:b', ''),
  notifySocket, watchdogUsec, watchdogPid });
const caseArb = fc.oneof({ weight: 4, arbitrary: wild }, { weight: 1, arbitrary: valid });

const clean = (v) => (typeof v === 'string' ? v.replace(/\0/g, '') : v); // the environment cannot hold NUL

async function runCase(c, backend) {
  const sock = openSocket('tcp', '127.0.0.1', 0);
  const env = { SD_ACTIVATE_BACKEND: backend };
  if (c.notifySocket !== undefined) env.NOTIFY_SOCKET = clean(c.notifySocket);
  if (c.watchdogUsec !== undefined) env.WATCHDOG_USEC = clean(c.watchdogUsec);
  if (c.watchdogPid !== undefined) env.WATCHDOG_PID = clean(c.watchdogPid);
  const r = await runChild({
    fds: [sock.fd],
    listenPid: c.pid === 'self' ? 'self' : clean(c.pid),
    listenFds: c.fds === undefined ? null : clean(c.fds),
    names: c.names === undefined ? undefined : clean(c.names),
    env,
    script: 'env-fuzz-child.js',
    args: [String(sock.port)],
  });
  return { r, port: sock.port };
}

function check(c, { r, port }, backend) {
  const where = `${backend}: ${JSON.stringify(c)}`;
  assert.equal(r.code, 0, `child failed ${where}\n${r.stderr}`);
  assert.equal(r.signal, null, where);
  const o = r.json;
  assert.ok(o, `no output ${where}\n${r.stdout}`);
  assert.deepEqual(o.env, [], `LISTEN_* left in the environment ${where}`);
  for (const a of o.adopted) {
    assert.equal(a.fd, 3, where);
    assert.equal(a.listener, 'http', where);
    assert.equal(a.socket, `tcp 127.0.0.1:${port} (listening)`, where);
  }
  if (o.adopted.length > 0) {
    assert.equal(o.environment, 'inherited', where);
    assert.equal(c.pid, 'self', `adopted a socket meant for another pid ${where}`);
    assert.equal(o.targets.length, 1, where);
    assert.equal(o.targets[0].fd, 3, where);
    assert.ok(Number.isInteger(o.targets[0].backlog) && o.targets[0].backlog > 0, `backlog ${where}`);
  } else {
    assert.ok(o.targets.every((t) => t.fd === undefined), where);
    if (o.environment === 'inherited') assert.equal(o.fd3Open, false, `unadopted inherited socket left open ${where}`);
  }
  for (const k of ['ready', 'status']) {
    const v = o[k];
    if ('value' in v) assert.equal(typeof v.value, 'boolean', `${k} ${where}`);
    else assert.ok(v.isError && /^E[A-Z]+$/.test(v.code) && v.syscall === 'sd_notify', `${k} threw ${JSON.stringify(v)} ${where}`);
    if (c.notifySocket === undefined) assert.deepEqual(v, { value: false }, `${k} without NOTIFY_SOCKET ${where}`);
  }
  const we = o.watchdogEnabled;
  if ('value' in we) assert.equal(typeof we.value.enabled, 'boolean', where);
  else assert.ok(we.isError && /^E[A-Z]+$/.test(we.code), `watchdogEnabled threw ${JSON.stringify(we)} ${where}`);
  assert.ok('value' in o.startWatchdog, `startWatchdog threw ${JSON.stringify(o.startWatchdog)} ${where}`);
  return o;
}

/** What both backends must agree on. */
const answer = (o) => ({ environment: o.environment, adopted: o.adopted.length, warnings: o.warnings,
  ready: o.ready.code ?? o.ready.value, watchdog: o.watchdogEnabled.code ?? o.watchdogEnabled.value });

test(`generated environments: ${CASES} cases on ${backends.join(' and ')} (seed ${seed})`, { skip: crossBackendSkip() }, async (t) => {
  const adopted = Object.fromEntries(backends.map((b) => [b, 0]));
  let runs = 0;
  const started = Date.now();
  const property = fc.asyncProperty(caseArb, async (c) => {
    runs++;
    const outs = await Promise.all(backends.map(async (b) => check(c, await runCase(c, b), b)));
    outs.forEach((o, i) => { if (o.adopted.length) adopted[backends[i]]++; });
    if (outs.length === 2) assert.deepEqual(answer(outs[1]), answer(outs[0]), `backends differ on ${JSON.stringify(c)}`);
  });
  // A few fixed cases the generator may miss: valid, and valid but for another pid.
  const examples = [{ pid: 'self', fds: '1', names: 'web' }, { pid: '1', fds: '1' }, { pid: 'self', fds: '1', names: 'a:b' }];
  await assertProperty(t, 'test/env-fuzz.test.js', property, { numRuns: CASES, examples: examples.map((c) => [c]) });
  t.diagnostic(`${runs} cases in ${Date.now() - started} ms; adopted fd 3 in ${JSON.stringify(adopted)}`);
  for (const b of backends) assert.ok(adopted[b] > 0, `${b}: the valid cases adopt fd 3`);
});
