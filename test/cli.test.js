// SPDX-License-Identifier: MIT
'use strict';
// The `sd-activate` command end to end: what the child inherits (fds, env,
// names), notify relaying, exit codes, and the command line's errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { child, startCli, runCli, alive } = require('./helpers/cli');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hasIPv6 = (() => {
  const native = require('../dist/binding').native();
  const fd = native.openSocket('tcp', '::1', 0, 1, 1);
  if (fd < 0) return false;
  native.close(fd);
  return true;
})();

test('the child gets the sockets at 3, 4, ... with LISTEN_PID = its pid, LISTEN_FDS, LISTEN_FDNAMES and a private NOTIFY_SOCKET', async () => {
  const sock = path.join(tmp, 'env.sock');
  const dgram = path.join(tmp, 'env.dgram');
  const args = ['-l', '127.0.0.1:0', '-l', 'udp:127.0.0.1:0', '-l', `unix:${sock}`, '-l', `unix-dgram:${dgram}`, '-l', '@sdact-cli-test-' + process.pid];
  if (hasIPv6) args.push('-l', '[::1]:0');
  args.push('--fdname', 'web:dns', '--fdname', 'admin', '--', ...child('report', '--exit', '7'));
  const r = await runCli(args, { env: { NOTIFY_SOCKET: '/run/holder/notify', WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(process.pid), CLI_TEST_MARK: 'kept' } });
  assert.equal(r.code, 7, `exit status passed through\n${r.stderr}`);
  const out = JSON.parse(r.stdout.split('\n')[0]);
  const n = hasIPv6 ? 6 : 5;
  assert.equal(out.env.LISTEN_PID, String(out.pid));
  assert.equal(out.env.LISTEN_FDS, String(n));
  const names = ['web', 'dns', 'admin', 'unknown', 'unknown', 'unknown'].slice(0, n);
  assert.equal(out.env.LISTEN_FDNAMES, names.join(':'));
  assert.deepEqual(out.fds.map((f) => f.fd), [3, 4, 5, 6, 7, 8].slice(0, n));
  assert.deepEqual(out.fds.map((f) => f.name), names);
  const d = out.fds.map((f) => f.desc);
  assert.deepEqual([d[0].family, d[0].type, d[0].listening, d[0].address], ['inet', 'stream', true, '127.0.0.1']);
  assert.deepEqual([d[1].family, d[1].type, d[1].address], ['inet', 'dgram', '127.0.0.1']);
  assert.deepEqual([d[2].family, d[2].type, d[2].listening, d[2].path], ['unix', 'stream', true, sock]);
  assert.deepEqual([d[3].family, d[3].type, d[3].path], ['unix', 'dgram', dgram]);
  assert.deepEqual([d[4].family, d[4].type, d[4].path], ['unix', 'stream', `@sdact-cli-test-${process.pid}`]);
  if (hasIPv6) assert.deepEqual([d[5].family, d[5].address, d[5].v6only], ['inet6', '::1', true]);
  // The ports the command printed are the ones the child holds.
  const printed = r.stderr.split('\n').filter((l) => / as fd \d+ /.test(l));
  assert.equal(printed.length, n);
  assert.match(printed[0], new RegExp(`listening on tcp 127\\.0\\.0\\.1:${d[0].port} as fd 3 \\(name web\\)`));
  assert.match(printed[1], new RegExp(`listening on udp 127\\.0\\.0\\.1:${d[1].port} as fd 4 \\(name dns\\)`));
  assert.ok(d[0].port > 0 && d[1].port > 0);
  // NOTIFY_SOCKET is the command's own receiver, not the holder's; the
  // holder's watchdog settings are not passed on; other variables are.
  assert.ok(out.env.NOTIFY_SOCKET && out.env.NOTIFY_SOCKET !== '/run/holder/notify');
  assert.equal(out.env.WATCHDOG_USEC, undefined);
  assert.equal(out.env.WATCHDOG_PID, undefined);
  assert.equal(out.env.CLI_TEST_MARK, 'kept');
  // Cleaned up: the socket files it bound and its notify directory.
  assert.equal(fs.existsSync(sock), false);
  assert.equal(fs.existsSync(dgram), false);
  assert.equal(fs.existsSync(path.dirname(out.env.NOTIFY_SOCKET)), false);
  assert.match(r.stderr, new RegExp(`started pid ${out.pid}: `));
  assert.match(r.stderr, new RegExp(`pid ${out.pid} exited with code 7`));
});

test('a bare port binds all addresses, NAME=SPEC names a socket, and names default to "unknown"', async () => {
  const r = await runCli(['-l', '0', '-l', 'api=tcp:127.0.0.1:0', '--', ...child('report')]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.split('\n')[0]);
  assert.equal(out.env.LISTEN_FDNAMES, 'unknown:api');
  const any = out.fds[0].desc;
  if (hasIPv6) {
    assert.deepEqual([any.family, any.address, any.v6only], ['inet6', '::', false]);
    assert.match(r.stderr, /listening on tcp \[::\]:\d+ dual-stack as fd 3/);
  } else {
    assert.deepEqual([any.family, any.address], ['inet', '0.0.0.0']);
  }
});

test('READY=1 and STATUS= from the child are relayed; SIGTERM is passed on and its exit code returned', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--', ...child('serve', '--term-exit', '3')]);
  try {
    const [, pid] = await h.waitFor(/pid (\d+) is ready after \d+ ms/);
    await h.waitFor(/status: serving on 1 socket\(s\)/);
    const res = await fetch(`http://127.0.0.1:${h.ports()[0]}/`);
    assert.equal(await res.text(), `pid ${pid}\n`);
    h.proc.kill('SIGTERM');
    const seen = await h.waitJson((j) => j.signal);
    assert.deepEqual(seen, { pid: Number(pid), signal: 'SIGTERM' });
    const r = await h.done;
    assert.equal(r.code, 3);
    assert.match(r.stderr, new RegExp(`passing SIGTERM to pid ${pid}`));
    assert.match(r.stderr, new RegExp(`pid ${pid} is stopping`));
    assert.match(r.stderr, new RegExp(`pid ${pid} exited with code 3`));
    assert.equal(alive(Number(pid)), false);
  } finally {
    await h.stop();
  }
});

test('SIGINT reaches a child without a handler; the command exits 128+2', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--', ...child('serve', '--no-handler')]);
  try {
    await h.waitFor(/is ready after/);
    h.proc.kill('SIGINT');
    const r = await h.done;
    assert.equal(r.code, 130);
    assert.match(r.stderr, /was killed by SIGINT/);
  } finally {
    await h.stop();
  }
});

test('a child that ignores SIGTERM is killed after --stop-timeout (exit 128+9)', async () => {
  const h = startCli(['--stop-timeout', '0.3', '-l', '127.0.0.1:0', '--', ...child('serve', '--ignore-term')]);
  try {
    await h.waitFor(/is ready after/);
    h.proc.kill('SIGTERM');
    const r = await h.done;
    assert.equal(r.code, 137);
    assert.match(r.stderr, /still running 0\.3 s after SIGTERM: sending SIGKILL/);
  } finally {
    await h.stop();
  }
});

test('SIGUSR2 is passed on to the child', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--', ...child('serve')]);
  try {
    const [, pid] = await h.waitFor(/pid (\d+) is ready/);
    h.proc.kill('SIGUSR2');
    assert.deepEqual(await h.waitJson((j) => j.signal === 'SIGUSR2'), { pid: Number(pid), signal: 'SIGUSR2' });
  } finally {
    await h.stop();
  }
});

test('notify messages from any process but the child are ignored (NotifyAccess=main)', async () => {
  const r = await runCli(['-l', '127.0.0.1:0', '--', ...child('grandchild-notify')]);
  assert.equal(r.code, 0, r.stderr);
  const gc = JSON.parse(r.stdout.split('\n').find((l) => l.includes('grandchild')));
  assert.ok(gc.sent > 0, 'the grandchild did send');
  assert.match(r.stderr, new RegExp(`ignoring notify messages from pid ${gc.grandchild}: only the main process`));
  assert.doesNotMatch(r.stderr, /status: from grandchild/);
  assert.match(r.stderr, /status: from main/);
  assert.equal(r.stderr.match(/is ready after/g).length, 1);
});

test('exit codes are passed through, and --quiet prints nothing of its own', async () => {
  for (const code of [0, 1, 42]) {
    const r = await runCli(['-q', '-l', '127.0.0.1:0', '--', ...child('exit', String(code))]);
    assert.equal(r.code, code);
    assert.equal(r.stderr, '');
  }
});

test('bad command lines: a clear error, a pointer to --help, exit 2', async () => {
  const cases = [
    [[], /no sockets/],
    [['-l', '8080'], /no command/],
    [['-l', 'localhost:8080', 'true'], /bad address "localhost".*use 127\.0\.0\.1 or \[::1\]/],
    [['-l', '70000', 'true'], /bad port 70000/],
    [['-l', '127.0.0.1:http', 'true'], /bad port "http"/],
    [['-l', '::1:80', 'true'], /write IPv6 addresses in brackets/],
    [['-l', '[::1]80', 'true'], /\[ADDRESS\]:PORT/],
    [['-l', 'unix:', 'true'], /empty socket path/],
    [['-l', `unix:/${'x'.repeat(120)}`, 'true'], /socket path too long/],
    [['-l', 'a:b=8080', 'true'], /bad address "a" in listen spec "a:b=8080"/],
    [['--fdname', 'a:b', '-l', '8080', 'true'], /2 names given with --fdname for 1 socket/],
    [['--fdname', 'bad name\u0001', '-l', '8080', 'true'], /bad --fdname/],
    [['-l', 'x=8080', '--fdname', 'y', 'true'], /not both/],
    [['--frobnicate', '-l', '8080', 'true'], /unknown option "--frobnicate"/],
    [['-l'], /-l needs a value/],
    [['--restart=sometimes', '-l', '8080', 'true'], /--restart takes always, on-failure or no/],
    [['--stop-timeout', 'soon', '-l', '8080', 'true'], /--stop-timeout needs a number/],
    [['--accept', '-l', 'udp:5353', 'true'], /--accept needs stream sockets/],
    [['--inetd', '-l', '8080', 'true'], /--inetd works with --accept only/],
    [['--watch', path.join(tmp, 'missing'), '-l', '8080', 'true'], /--watch .*missing: no such file/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${JSON.stringify(args)} -> ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, re, JSON.stringify(args));
    assert.match(r.stderr, /^sd-activate: /);
    assert.match(r.stderr, /Try 'sd-activate --help'/);
  }
});

test('--help and --version', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: sd-activate \[options\] -l SPEC/);
  assert.match(help.stdout, /Examples:/);
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  const pkg = require('../package.json');
  assert.equal(version.stdout.trim(), `sd-activate ${pkg.version}`);
});

test('a busy address: a clear error naming it, exit 1, nothing started', async () => {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  try {
    const r = await runCli(['-l', `127.0.0.1:${port}`, '--', ...child('report')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`));
    assert.doesNotMatch(r.stderr, /started pid/);
    assert.equal(r.stdout, '');
  } finally {
    server.close();
  }
});

test('the sockets bound before a failure are released (its unix socket file is removed)', async () => {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const busy = server.address().port;
  const sock = path.join(tmp, 'partial.sock');
  try {
    const r = await runCli(['-l', `unix:${sock}`, '-l', `127.0.0.1:${busy}`, '--', ...child('report')]);
    assert.equal(r.code, 1);
    assert.equal(fs.existsSync(sock), false, 'the unix socket file it created is gone');
  } finally {
    server.close();
  }
});

test('unix socket files: a stale one is replaced, a live one is refused, a regular file is left alone', async () => {
  const stale = path.join(tmp, 'stale.sock');
  const native = require('../dist/binding').native();
  const fd = native.openSocket('unix', stale, 0, 1, -1);
  native.close(fd); // the file stays, nobody listens: stale
  assert.ok(fs.statSync(stale).isSocket());
  const r1 = await runCli(['-l', `unix:${stale}`, '--', ...child('report')]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(JSON.parse(r1.stdout).fds[0].desc.path, stale);

  const live = path.join(tmp, 'live.sock');
  const server = net.createServer();
  await new Promise((r) => server.listen(live, r));
  try {
    const r2 = await runCli(['-l', `unix:${live}`, '--', ...child('report')]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, new RegExp(`cannot listen on unix ${live.replace(/[.]/g, '\\.')}: address already in use`));
    assert.ok(fs.statSync(live).isSocket(), 'the live socket file is untouched');
  } finally {
    await new Promise((r) => server.close(r));
  }

  const file = path.join(tmp, 'regular');
  fs.writeFileSync(file, 'keep me');
  const r3 = await runCli(['-l', `unix:${file}`, '--', ...child('report')]);
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /exists and is not a socket/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
});

test('a command that does not exist: exit 127 before anything is bound', async () => {
  const r = await runCli(['-l', '127.0.0.1:0', '--', 'sd-activate-no-such-command']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /command not found: sd-activate-no-such-command/);
  assert.doesNotMatch(r.stderr, /listening on/);
});

test('the command is run without `--` too, and its own options are left to it', async () => {
  const r = await runCli(['-l', '127.0.0.1:0', process.execPath, require('./helpers/cli').CHILD, 'report', '--exit', '5']);
  assert.equal(r.code, 5, r.stderr);
});
