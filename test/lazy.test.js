// SPDX-License-Identifier: MIT
'use strict';
// What importing the package loads (issue 16): the activation path only. The
// notify, watchdog, fd store, lifecycle and cluster modules load when one of
// their exports is first read, the addon on the first call that needs it, and
// each is the one instance whichever way it is reached (main entry, ESM,
// dist/<module>.js, sd-activate/register).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { openSocket, runChild } = require('./helpers/child');

const root = path.join(__dirname, '..');
const LAZY = ['notify', 'watchdog', 'fdstore', 'lifecycle', 'cluster'];

/** Run `code` in a fresh node (CommonJS, cwd the package) and parse the JSON line it prints. */
function inChild(code, args = [], env = {}) {
  const r = spawnSync(process.execPath, [...args, '-e', code], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const LOADED = `const loaded = () => Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(root)}, f));`;

test('require(\'sd-activate\') and activate() without LISTEN_PID load neither the lazy modules nor the addon', () => {
  const out = inChild(`${LOADED}
    const sd = require('sd-activate');
    const atImport = loaded();
    const a = sd.activate({ web: { port: 1, bind: '127.0.0.1' } });
    const afterActivate = loaded();
    const backend = sd.backend;
    console.log(JSON.stringify({ atImport, afterActivate, afterBackend: loaded(), backend, inherited: a.inherited('web') }));`);
  for (const m of LAZY) {
    assert.ok(!out.atImport.includes(`dist/${m}.js`), `dist/${m}.js loaded at import: ${out.atImport}`);
    assert.ok(!out.afterActivate.includes(`dist/${m}.js`), `dist/${m}.js loaded by activate()`);
  }
  assert.ok(!out.afterActivate.some((f) => f.endsWith('.node')), `the addon loaded before it was needed: ${out.afterActivate}`);
  assert.ok(out.afterBackend.some((f) => f.endsWith('.node')), 'reading backend loads the addon');
  assert.ok(['libsystemd', 'builtin'].includes(out.backend), out.backend);
  assert.equal(out.inherited, false);
});

test('a lazy export loads its module on first read, and it is the one instance', () => {
  const out = inChild(`${LOADED}
    const sd = require('sd-activate');
    const before = loaded().includes('dist/lifecycle.js');
    const fn = sd.lifecycle;
    const after = loaded().includes('dist/lifecycle.js');
    const same = ${JSON.stringify(LAZY)}.every((m) => Object.entries(require('./dist/' + m)).every(([k, v]) => !(k in sd) || sd[k] === v));
    const names = Object.keys(sd).filter((k) => sd[k] === undefined);
    console.log(JSON.stringify({ before, after, fn: typeof fn, same, undefinedExports: names }));`);
  assert.deepEqual(out, { before: false, after: true, fn: 'function', same: true, undefinedExports: [] });
});

test('ESM: every named export, backend included, is the CommonJS one', () => {
  const code = `import * as esm from 'sd-activate';
    import { createRequire } from 'node:module';
    const cjs = createRequire(import.meta.url)('sd-activate');
    const names = Object.keys(cjs);
    const missing = names.filter((k) => !(k in esm));
    const differ = names.filter((k) => esm[k] !== cjs[k]);
    console.log(JSON.stringify({ n: names.length, missing, differ, backend: esm.backend, hasBackend: names.includes('backend') }));`;
  const out = inChild(code, ['--input-type=module']);
  assert.ok(out.n > 30, `exports: ${out.n}`);
  assert.deepEqual(out.missing, []);
  assert.deepEqual(out.differ, []);
  assert.equal(out.hasBackend, true);
  assert.ok(['libsystemd', 'builtin'].includes(out.backend));
});

test('with an inherited socket, activate() loads the addon and adopts it; report().backend is the addon\'s', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const r = await runChild({ fds: [s.fd], script: 'lazy-app.js', env: { PORT: String(s.port) } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.adopted, [3]);
  assert.equal(r.json.addonBeforeActivate, false);
  assert.equal(r.json.reportBackend, r.json.backend);
  assert.equal(r.json.infoBackend, r.json.backend);
});
