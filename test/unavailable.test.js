// SPDX-License-Identifier: MIT
'use strict';
// Where the addon cannot load (not Linux, no prebuild, no compiler), the
// package still imports with the same exports, reports backend
// "unavailable", inherits nothing, notify reports "not sent", and keeps the
// load error for diagnostics without printing it.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { runChild, openSocket } = require('./helpers/child');

const preload = path.join(__dirname, 'fixtures', 'no-addon-preload.js');

test('no addon: imports, backend unavailable, nothing inherited, notify false, silent', async () => {
  const sock = openSocket('tcp', '127.0.0.1', 0);
  const r = await runChild({
    fds: [sock.fd],
    script: 'no-addon.js',
    nodeArgs: ['-r', preload],
    env: { NOTIFY_SOCKET: '/run/nonexistent/notify' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'the load error is never printed');
  const out = r.json;
  assert.equal(out.backend, 'unavailable');
  assert.equal(out.info.backend, 'unavailable');
  assert.match(out.loadError, /No native build was found/);
  assert.deepEqual(out.fds, []);
  assert.equal(out.notify, false, 'notify reports "not sent"');
  assert.equal(out.ready, false);
  assert.deepEqual(out.targets, [{ host: '127.0.0.1', port: 0 }], 'nothing adopted: the listener binds itself');
});

const { spawnSync } = require('node:child_process');
const DIST = path.join(__dirname, '..', 'dist');

test('no addon, sockets passed: SD_ACTIVATE_UNAVAILABLE gives the load error and the fix', () => {
  const code = `const sd = require(${JSON.stringify(DIST)});
    const warnings = [];
    const a = sd.activate({ http: { port: 0, bind: '127.0.0.1' } }, { onWarning: (w) => warnings.push(w) });
    console.log(JSON.stringify({ warnings: warnings.map((w) => ({ code: w.code, message: w.message })), targets: a.targets('http') }));`;
  const r = spawnSync(process.execPath, ['-r', preload, '-e', code], {
    env: { ...process.env, LISTEN_FDS: '1', LISTEN_PID: String(process.pid) }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const w = out.warnings.find((x) => x.code === 'SD_ACTIVATE_UNAVAILABLE');
  assert.ok(w, JSON.stringify(out.warnings));
  assert.match(w.message, /No native build was found/, 'the reason');
  assert.match(w.message, /npm rebuild sd-activate/, "the consumer's fix");
  assert.doesNotMatch(w.message, /npm run build/, "not this repository's own script");
  assert.deepEqual(out.targets, [{ host: '127.0.0.1', port: 0 }], 'binds itself');
});

test('no addon: the command prints the load error and the fix that applies to a consumer', () => {
  const r = spawnSync(process.execPath, ['-r', preload, path.join(DIST, 'cli.js'), '-l', '127.0.0.1:0', '--', process.execPath, '-e', '1'],
    { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /native addon did not load/);
  assert.match(r.stderr, /No native build was found/, 'backendInfo().loadError');
  assert.match(r.stderr, /npm rebuild sd-activate/);
  assert.doesNotMatch(r.stderr, /npm run build/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
});
