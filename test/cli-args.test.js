// SPDX-License-Identifier: MIT
'use strict';
// The `sd-activate` command line, parsed (no processes): listen spec forms,
// names, options. The same errors are checked end to end in cli.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseArgs, parseListenSpec } = require('../dist/cli/args');
const { UsageError } = require('../dist/cli/types');
const { isValidFdName } = require('../dist/validate');

test('listen specs: the ListenStream= / ListenDatagram= address forms', () => {
  const cases = [
    ['8080', { kind: 'tcp', address: '', port: 8080 }],
    ['0', { kind: 'tcp', address: '', port: 0 }],
    ['127.0.0.1:8443', { kind: 'tcp', address: '127.0.0.1', port: 8443 }],
    ['[::1]:8443', { kind: 'tcp', address: '::1', port: 8443 }],
    ['[fe80::1%lo]:80', { kind: 'tcp', address: 'fe80::1%lo', port: 80 }],
    ['tcp:0.0.0.0:80', { kind: 'tcp', address: '0.0.0.0', port: 80 }],
    ['udp:5353', { kind: 'udp', address: '', port: 5353 }],
    ['udp:[::]:53', { kind: 'udp', address: '::', port: 53 }],
    ['unix:/tmp/a.sock', { kind: 'unix', address: '/tmp/a.sock', port: 0 }],
    ['/run/b.sock', { kind: 'unix', address: '/run/b.sock', port: 0 }],
    ['@abstract', { kind: 'unix', address: '@abstract', port: 0 }],
    ['unix:@abstract', { kind: 'unix', address: '@abstract', port: 0 }],
    ['unix-dgram:/run/log', { kind: 'unix-dgram', address: '/run/log', port: 0 }],
    ['seqpacket:/run/sp', { kind: 'seqpacket', address: '/run/sp', port: 0 }],
    ['/run/x=y.sock', { kind: 'unix', address: '/run/x=y.sock', port: 0 }],
  ];
  for (const [spec, want] of cases) {
    const got = parseListenSpec(spec);
    assert.deepEqual({ kind: got.kind, address: got.address, port: got.port }, want, spec);
    assert.equal(got.name, undefined, spec);
  }
  const named = parseListenSpec('web=127.0.0.1:80');
  assert.deepEqual([named.name, named.kind, named.address, named.port], ['web', 'tcp', '127.0.0.1', 80]);
});

test('listen specs that are refused', () => {
  for (const bad of ['', 'localhost:80', 'example.com:80', '65536', '-1', '1.2.3:80', '::1:80', '[::1]', '[zz]:80',
    '127.0.0.1:', 'unix:', '@', 'udp:', 'sctp:80', `unix:/${'a'.repeat(107)}`, 'bad\tname=80']) {
    assert.throws(() => parseListenSpec(bad), UsageError, JSON.stringify(bad));
  }
  // 107 bytes is the longest path sun_path takes (with its NUL).
  assert.equal(parseListenSpec(`/${'a'.repeat(106)}`).address.length, 107);
});

test('fd names follow systemd: 1..255 printable ASCII, no colon', () => {
  assert.equal(isValidFdName('web'), true);
  assert.equal(isValidFdName('a'.repeat(255)), true);
  for (const bad of ['', 'a'.repeat(256), 'a:b', 'tab\there', 'é']) assert.equal(isValidFdName(bad), false, bad);
});

test('options: names in order, defaults, inline values, the command kept whole', () => {
  const r = parseArgs(['-l8080', '--listen=127.0.0.1:0', '--fdname', 'a', '--fdname=b', '-wsrc', '--restart',
    '--stop-timeout', '2.5', '--backlog', '64', '-q', 'node', 'app.js', '-l', '9']);
  assert.equal(r.action, 'run');
  const o = r.options;
  assert.deepEqual(o.names, ['a', 'b']);
  assert.deepEqual(o.watch, ['src']);
  assert.equal(o.restart, 'always');
  assert.equal(o.stopTimeoutMs, 2500);
  assert.equal(o.backlog, 64);
  assert.equal(o.quiet, true);
  assert.deepEqual(o.command, ['node', 'app.js', '-l', '9']);

  const d = parseArgs(['-l', '1', '-l', '2', '--', 'x']).options;
  assert.deepEqual(d.names, ['unknown', 'unknown']);
  assert.equal(d.restart, 'no');
  assert.equal(d.restartLimit, 5);
  assert.equal(d.stopTimeoutMs, 10000);
  assert.equal(d.backlog, 4096);
  assert.equal(d.accept, false);
  assert.equal(d.fdstore, 0);
  assert.equal(d.overlap, false);
  assert.equal(d.lazy, false);
  assert.equal(d.readyTimeoutMs, 30000);

  const ov = parseArgs(['-l', '1', '--overlap', '--ready-timeout', '2.5', '--lazy', '--', 'x']).options;
  assert.deepEqual([ov.overlap, ov.readyTimeoutMs, ov.lazy], [true, 2500, true]);
  assert.throws(() => parseArgs(['-l', '1', '--overlap=yes', '--', 'x']), /--overlap takes no value/);
  assert.throws(() => parseArgs(['-l', '1', '--lazy=1', '--', 'x']), /--lazy takes no value/);
  for (const bad of ['0', 'soon', '-1', '100000']) {
    assert.throws(() => parseArgs(['-l', '1', '--ready-timeout', bad, '--', 'x']), /--ready-timeout needs a number from 0\.1 to 86400/, bad);
  }

  assert.deepEqual(parseArgs(['-l', '1', '--fdname', 'x:y', '-l', '2', '--', 'x']).options.names, ['x', 'y']);
  assert.deepEqual(parseArgs(['--help', '--bogus']), { action: 'help' });
  assert.deepEqual(parseArgs(['-V']), { action: 'version' });
});
