// SPDX-License-Identifier: MIT
'use strict';
// activate() with every kind of Node server and the ways Express, Koa and
// Fastify apps obtain theirs; plus the real systemd-socket-activate(1).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const http2 = require('node:http2');
const path = require('node:path');
const tls = require('node:tls');
const { spawn, spawnSync } = require('node:child_process');
const { openSocket, FIXTURES } = require('./helpers/child');
const { startApp, probe, freePort } = require('./helpers/activation-app');

const { SOMAXCONN, tmpdir, checkBackend, plainEnv, sanitizerSetenv } = require('./helpers/common');
const fdT = (fd, backlog = SOMAXCONN) => ({ fd, backlog });

function ssBacklog(port) {
  const r = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return Number(r.stdout.trim().split(/\s+/)[2]); // Send-Q of a listener = its backlog
}

function getJson(url, options = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
    req.setTimeout(20000, () => req.destroy(new Error('timeout')));
  });
}

test('Express, Koa and Fastify apps serve inherited sockets', async () => {
  const kinds = { e: 'express', k: 'koa', f: 'fastify', fl: 'fastify-listen' };
  const socks = Object.keys(kinds).map(() => openSocket('tcp', '127.0.0.1', 0));
  const config = Object.fromEntries(Object.keys(kinds).map((n, i) => [n, { port: socks[i].port, bind: '127.0.0.1' }]));
  const app = await startApp({ config, kinds }, { script: 'activation-servers.js', fds: socks.map((s) => s.fd) });
  try {
    const r = app.ready;
    checkBackend(r);
    assert.deepEqual(r.report.adopted.map((a) => [a.fd, a.listener]), [[3, 'e'], [4, 'k'], [5, 'f'], [6, 'fl']]);
    assert.deepEqual(r.warnings, []);
    for (const [i, [name, kind]] of Object.entries(kinds).entries()) {
      assert.deepEqual(await getJson(`http://127.0.0.1:${socks[i].port}/`), { by: kind, listener: name });
      assert.equal(r.addresses[name][0].port, socks[i].port);
    }
    // The backlog survives Node's re-listen where the target's backlog reaches it;
    // fastify's own listen() cannot pass it for { fd } (Node's 511 then).
    const bl = socks.map((s) => ssBacklog(s.port));
    if (bl[0] !== null) assert.deepEqual(bl, [SOMAXCONN, SOMAXCONN, SOMAXCONN, 511]);
  } finally {
    const { code } = await app.stop();
    assert.equal(code, 0);
  }
});

test('Express, Koa and Fastify bind themselves when not activated, on the same code path', async () => {
  const kinds = { e: 'express', k: 'koa', f: 'fastify', fl: 'fastify-listen' };
  const config = Object.fromEntries(Object.keys(kinds).map((n) => [n, { port: 0, bind: '127.0.0.1' }]));
  const app = await startApp({ config, kinds }, { script: 'activation-servers.js' });
  try {
    for (const [name, kind] of Object.entries(kinds)) {
      assert.deepEqual(await getJson(`http://127.0.0.1:${app.ready.addresses[name][0].port}/`), { by: kind, listener: name });
    }
  } finally {
    await app.stop();
  }
});

function makeCert(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
  { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return { key, cert };
}

test('http, https, http2 and tls servers serve inherited sockets (self-signed cert made now)', async (t) => {
  const dir = tmpdir(t);
  const pem = makeCert(dir);
  if (!pem) {
    t.skip('openssl not available to make a test certificate');
    return;
  }
  const ca = fs.readFileSync(pem.cert);
  const names = ['http', 'https', 'http2', 'tls'];
  const socks = names.map(() => openSocket('tcp', '127.0.0.1', 0));
  const config = Object.fromEntries(names.map((n, i) => [n, { port: socks[i].port, bind: '127.0.0.1' }]));
  const kinds = Object.fromEntries(names.map((n) => [n, n]));
  const app = await startApp({ config, kinds, ...pem }, { script: 'activation-servers.js', fds: socks.map((s) => s.fd) });
  try {
    assert.equal(app.ready.report.adopted.length, 4);
    assert.deepEqual(await getJson(`http://127.0.0.1:${socks[0].port}/`), { by: 'http', listener: 'http' });
    assert.deepEqual(await getJson(`https://127.0.0.1:${socks[1].port}/`, { ca }), { by: 'https', listener: 'https' });
    const h2 = await new Promise((resolve, reject) => {
      const session = http2.connect(`https://127.0.0.1:${socks[2].port}`, { ca });
      session.on('error', reject);
      const req = session.request({ ':path': '/' });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => { body += d; });
      req.on('end', () => { session.close(); resolve(JSON.parse(body)); });
      req.on('error', reject);
    });
    assert.deepEqual(h2, { by: 'http2', listener: 'http2' });
    const line = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: socks[3].port, ca, servername: 'localhost' });
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d) => { data += d; });
      s.on('end', () => resolve(data.trim()));
      s.on('error', reject);
    });
    assert.equal(line, 'tls:tls');
  } finally {
    const { code } = await app.stop();
    assert.equal(code, 0);
  }
});

// ---------------------------------------------------------------- systemd-socket-activate(1)

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

/**
 * Run the app under systemd-socket-activate with the given -l addresses and
 * names. Resolves once it listens (before the app exists).
 */
function socketActivate(listen, names, spec, script = 'activation-app.js') {
  const args = [];
  for (const l of listen) args.push('-l', l);
  if (names) args.push(`--fdname=${names.join(':')}`);
  args.push('-E', 'SD_ACTIVATE_BACKEND', ...sanitizerSetenv(), process.execPath, path.join(FIXTURES, script), JSON.stringify(spec));
  const env = { ...process.env };
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete env[k];
  const proc = spawn('systemd-socket-activate', args, {
    env: plainEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
  exited.then(() => clearTimeout(timer));
  const listening = new Promise((resolve, reject) => {
    proc.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      if ((stderr.match(/Listening on /g) || []).length >= listen.length) resolve();
    });
    exited.then((r) => reject(new Error(`systemd-socket-activate exited early (${JSON.stringify(r)}): ${stderr}`)));
  });
  const firstJson = () => new Promise((resolve, reject) => {
    const check = () => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) { resolve(JSON.parse(line)); return true; }
      return false;
    };
    if (check()) return;
    proc.stdout.on('data', check);
    exited.then(() => { if (!check()) reject(new Error(`no output; stderr: ${stderr}`)); });
  });
  return { proc, listening, exited, firstJson, stderr: () => stderr };
}

const SSA = which('systemd-socket-activate');

test('real systemd-socket-activate: the app starts on the first connection, which it serves (by fdname)', { skip: !SSA && 'systemd-socket-activate not installed' }, async () => {
  const port = freePort();
  const sa = socketActivate([`127.0.0.1:${port}`], ['web'], { config: { web: { fdname: 'web' } } });
  try {
    await sa.listening;
    // The app does not exist yet: this connection waits in the backlog and starts it.
    assert.equal(await probe({ host: '127.0.0.1', port }), 'web');
    const r = await sa.firstJson();
    checkBackend(r);
    assert.equal(r.pid, sa.proc.pid, 'systemd-socket-activate execs the app in its own process');
    assert.equal(r.report.environment, 'inherited');
    assert.deepEqual(r.report.adopted.map((a) => [a.fd, a.fdname, a.listener, a.via]), [[3, 'web', 'web', 'fdname']]);
    assert.deepEqual(r.targets.web, [fdT(3)]);
    assert.deepEqual(r.envAfter, {});
    assert.equal(await probe({ host: '127.0.0.1', port }), 'web');
  } finally {
    sa.proc.kill('SIGTERM');
    await sa.exited;
  }
});

test('real systemd-socket-activate: TCP and unix sockets matched by address, a third one rejected', { skip: !SSA && 'systemd-socket-activate not installed' }, async (t) => {
  const dir = tmpdir(t);
  const sock = path.join(dir, 'admin.sock');
  const port = freePort();
  const extra = freePort();
  const sa = socketActivate([`127.0.0.1:${port}`, sock, `127.0.0.1:${extra}`], ['http', 'admin', 'extra'],
    { config: { http: { port, bind: '127.0.0.1' }, admin: { path: sock } }, watchPaths: [sock] });
  try {
    await sa.listening;
    assert.equal(await probe({ path: sock }), 'admin');
    const r = await sa.firstJson();
    assert.deepEqual(r.report.adopted.map((a) => [a.fd, a.listener, a.via]), [[3, 'http', '127.0.0.1'], [4, 'admin', 'path']]);
    assert.deepEqual(r.report.rejected.map((x) => [x.fd, x.fdname, x.reason, x.closed]), [[5, 'extra', 'no-listener', true]]);
    assert.match(r.warnings[0].message, new RegExp(`fd 5 named "extra" \\(tcp 127\\.0\\.0\\.1:${extra}`));
    assert.equal(await probe({ host: '127.0.0.1', port }), 'http');
  } finally {
    sa.proc.kill('SIGTERM');
    await sa.exited;
  }
  assert.equal(fs.existsSync(sock), true, 'inherited unix socket not unlinked at exit');
});
