// SPDX-License-Identifier: MIT
'use strict';
// The README's "ten lines", run for real, so the front-door example cannot rot.
// The ```js block under "## The ten lines" is copied unchanged into app.mjs in a
// scratch project whose node_modules/sd-activate is this package, and run:
//   1. plainly: it binds 127.0.0.1:PORT and the unix path ADMIN_SOCKET itself;
//   2. the way systemd calls it: a listening socket this test bound before the
//      child existed, at fd 3 of a real child with LISTEN_FDS=1 and LISTEN_PID
//      its own pid. A connection queued on that socket before the child started
//      is answered by the child, which says "socket-activated" and sends READY=1
//      and STOPPING=1 to a real notify receiver;
//   3. under the real systemd-socket-activate (when installed), which binds the
//      socket and execs node on the first connection;
//   4. under the sd-activate command, as the README says, restarted with SIGHUP;
//   5. under a unit that contradicts it (0.0.0.0 for its 127.0.0.1): exit status 78.
// The example reads PORT and ADMIN_SOCKET from the environment (its defaults are
// 8080 and /tmp/app-admin.sock); this test sets both and rewrites no code.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { openSocket, startChild, freePort } = require('./helpers/child');
const { plainEnv, sanitizerSetenv } = require('./helpers/common');
const { startReceiver } = require('./helpers/receiver');

const ROOT = path.join(__dirname, '..');

/** The code block under "## The ten lines" in README.md. */
function tenLines() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /^## The ten lines\n(?:(?!^## )[\s\S])*?^```js\n([\s\S]*?)^```$/m.exec(readme);
  assert.ok(m, 'README.md has a "## The ten lines" section with a ```js block');
  return m[1];
}

/** A scratch project: app.mjs (the README block) and node_modules/sd-activate -> this package. */
function project(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-readme-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'sd-activate'), 'dir');
  const app = path.join(dir, 'app.mjs');
  fs.writeFileSync(app, tenLines());
  return { dir, app, sock: path.join(dir, 'admin.sock') };
}

/**
 * Follow a child's output from the moment it is spawned: `line(re, nth = 1)`
 * resolves with the nth stdout line matching `re` (already printed or still to
 * come), and rejects with the output so far if the child exits first.
 */
function output(proc) {
  const out = { stdout: '', stderr: '' };
  const waiters = [];
  const check = () => {
    for (const w of waiters.slice()) {
      const hit = out.stdout.split('\n').filter((l) => w.re.test(l))[w.nth - 1];
      if (hit !== undefined) { waiters.splice(waiters.indexOf(w), 1); w.resolve(hit); }
    }
  };
  proc.stdout.setEncoding('utf8').on('data', (d) => { out.stdout += d; check(); });
  proc.stderr.setEncoding('utf8').on('data', (d) => { out.stderr += d; });
  let exit;
  const fail = () => {
    for (const w of waiters.splice(0)) {
      w.reject(new Error(`the process exited (${exit}) before printing ${w.re}; ` +
        `stdout:\n${out.stdout}\nstderr:\n${out.stderr}`));
    }
  };
  proc.once('close', (code, signal) => { exit = `code ${code}, signal ${signal}`; check(); fail(); });
  out.line = (re, nth = 1) => new Promise((resolve, reject) => {
    waiters.push({ re, nth, resolve, reject });
    check();
    if (exit !== undefined) fail();
  });
  return out;
}

/** GET / over TCP ({ host, port }) or a unix socket ({ socketPath }); resolves the body. */
function get(where) {
  return new Promise((resolve, reject) => {
    const req = http.get({ ...where, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error(`no answer from ${JSON.stringify(where)}`)));
  });
}

/**
 * Connect to 127.0.0.1:port and send GET / now; `response` resolves with the raw
 * response once the connection closes (rejects on a reset).
 */
async function queuedRequest(port) {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  c.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  let text = '';
  c.setEncoding('utf8').on('data', (d) => { text += d; });
  const response = new Promise((resolve, reject) => {
    c.on('close', () => resolve(text));
    c.on('error', reject);
  });
  response.catch(() => {}); // awaited by the test; a failure must fail the test, not escape it
  return { response };
}

function exited(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
    else proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

test('README ten lines, started plainly: binds the TCP port and the unix path itself', { timeout: 60000 }, async (t) => {
  const { app, sock } = project(t);
  const port = freePort();
  const child = startChild({ script: app, env: { PORT: String(port), ADMIN_SOCKET: sock } });
  t.after(() => child.proc.kill('SIGKILL'));
  const out = output(child.proc);
  assert.equal(await out.line(/^http: /), 'http: bound itself', 'nothing was inherited');
  const hello = `hello from pid ${child.proc.pid}\n`;
  assert.equal(await get({ host: '127.0.0.1', port }), hello);
  assert.equal(await get({ socketPath: sock }), hello);

  child.proc.kill('SIGTERM');
  const r = await child.done;
  assert.equal(r.code, 0, `lifecycle() stops gracefully and exits 0 on SIGTERM; stderr:\n${r.stderr}`);
  assert.equal(fs.existsSync(sock), false, 'the self-bound unix socket file is removed when its server closes');
});

test('README ten lines, started as systemd does: serves the socket inherited at fd 3', { timeout: 60000 }, async (t) => {
  const { app, sock } = project(t);
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  // Bound and listening before the child exists, as a .socket unit's socket is.
  const inherited = openSocket('tcp', '127.0.0.1', 0);
  // A client connected and sent its request before the child exists: it waits in
  // that socket's queue, and only a process serving this very socket can answer
  // it (a socket the app bound itself would be another one, and closing a
  // rejected fd 3 would reset this connection).
  const queued = await queuedRequest(inherited.port);
  const child = startChild({
    script: app,
    fds: [inherited.fd], // at fd 3, with LISTEN_FDS=1 and LISTEN_PID = the child's own pid
    env: { PORT: String(inherited.port), ADMIN_SOCKET: sock, NOTIFY_SOCKET: receiver.address },
  });
  t.after(() => child.proc.kill('SIGKILL'));
  const out = output(child.proc);
  const pid = child.proc.pid;
  const hello = `hello from pid ${pid}\n`;

  assert.equal(await out.line(/^http: /), 'http: socket-activated', 'the app reports that it adopted the socket');
  const early = await queued.response;
  assert.match(early, /^HTTP\/1\.1 200 /);
  assert.ok(early.endsWith(`\r\n\r\n${hello}`), `the connection queued before the child started is served by it: ${early}`);
  assert.equal(await get({ host: '127.0.0.1', port: inherited.port }), hello);
  assert.equal(await get({ socketPath: sock }), hello, 'the admin socket, not inherited, is bound by the app');
  await receiver.next((m) => m.pid === pid && m.text === 'READY=1');

  child.proc.kill('SIGTERM');
  await receiver.next((m) => m.pid === pid && m.text === 'STOPPING=1');
  const r = await child.done;
  assert.equal(r.code, 0, `stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /SdActivateWarning/, 'nothing was rejected or mismatched');
});

const SSA = spawnSync('sh', ['-c', 'command -v systemd-socket-activate'], { encoding: 'utf8' }).stdout.trim();

test('README ten lines under the real systemd-socket-activate', { timeout: 60000, skip: SSA === '' && 'systemd-socket-activate is not installed' }, async (t) => {
  const { app, sock } = project(t);
  const port = freePort();
  // systemd-socket-activate passes on only the variables named with -E.
  const pass = ['SD_ACTIVATE_BACKEND'].filter((k) => process.env[k] !== undefined).map((k) => `-E${k}=${process.env[k]}`);
  const proc = spawn(SSA, [`-l127.0.0.1:${port}`, `-EPORT=${port}`, `-EADMIN_SOCKET=${sock}`, ...pass, ...sanitizerSetenv(),
    process.execPath, app], { env: plainEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => proc.kill('SIGKILL'));
  const out = output(proc);
  await new Promise((resolve) => proc.stderr.once('data', resolve)); // "Listening on 127.0.0.1:PORT as 3."
  // It starts the program on the first connection, by exec: LISTEN_PID (its own pid) names node.
  const hello = `hello from pid ${proc.pid}\n`;
  assert.equal(await get({ host: '127.0.0.1', port }), hello, 'the first connection is served by the started app');
  assert.equal(await out.line(/^http: /), 'http: socket-activated');
  assert.equal(await get({ socketPath: sock }), hello);
  proc.kill('SIGTERM');
  assert.deepEqual(await exited(proc), { code: 0, signal: null }, `stderr:\n${out.stderr}`);
});

test('README ten lines under the sd-activate command, restarted by SIGHUP', { timeout: 60000 }, async (t) => {
  const { app, sock } = project(t);
  const port = freePort();
  const cli = path.join(ROOT, require('../package.json').bin['sd-activate']);
  const proc = spawn(process.execPath, [cli, '-l', `127.0.0.1:${port}`, '--', process.execPath, app],
    { env: { ...process.env, PORT: String(port), ADMIN_SOCKET: sock }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = output(proc);
  t.after(async () => {
    // The apps run in process groups of their own: stop them too, even when the
    // command does not stop them itself.
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited(proc);
      clearTimeout(timer);
    }
    for (const [, pid] of out.stderr.matchAll(/started pid (\d+)/g)) {
      try { process.kill(-Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
  });
  assert.equal(await out.line(/^http: /), 'http: socket-activated');
  const first = await get({ host: '127.0.0.1', port });
  assert.match(first, /^hello from pid \d+\n$/);
  assert.equal(await get({ socketPath: sock }), first);

  proc.kill('SIGHUP'); // the app gets SIGTERM, stops gracefully; the next one adopts the same socket
  assert.equal(await out.line(/^http: /, 2), 'http: socket-activated');
  const second = await get({ host: '127.0.0.1', port });
  assert.match(second, /^hello from pid \d+\n$/);
  assert.notEqual(second, first, 'served by the next process');
  assert.equal(await get({ socketPath: sock }), second);

  proc.kill('SIGTERM');
  assert.deepEqual(await exited(proc), { code: 0, signal: null }, `stderr:\n${out.stderr}`);
});

test('README ten lines under a unit that contradicts it: exit status 78, saying why', { timeout: 60000 }, async (t) => {
  const { app, sock } = project(t);
  // The manager's socket: the same port as the app's, a wider address. The test keeps its copy, as the manager does.
  const held = openSocket('tcp', '0.0.0.0', 0);
  t.after(() => require('./helpers/native').close(held.fd));
  const child = startChild({ script: app, fds: [held.fd], keep: true, env: { PORT: String(held.port), ADMIN_SOCKET: sock } });
  t.after(() => child.proc.kill('SIGKILL'));
  const r = await child.done;
  assert.equal(r.code, 78, `stderr:\n${r.stderr}`);
  assert.match(r.stderr, new RegExp(`listener "http" cannot bind 127\\.0\\.0\\.1:${held.port} \\(the manager holds tcp 0\\.0\\.0\\.0:${held.port}`));
  assert.doesNotMatch(r.stdout, /^http: /m, 'it never served');
});
