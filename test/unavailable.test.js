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
