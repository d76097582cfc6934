// SPDX-License-Identifier: MIT
'use strict';
// What importing the package loads (issue 16): the activation path only. The
// two entries run one bundle of the modules (dist/bundle.js, lib/load.ts), in
// which the notify, watchdog, fd store, lifecycle and cluster modules run when
// one of their exports is first read, the addon loads on the first call that
// needs it, and each module is the one instance whichever way it is reached
// (main entry, ESM, sd-activate/register). The bundle compiles with the code
// cache made for this node; a cache V8 rejects, or one of another build, is
// not used.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
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

// The files Node loaded, and the modules the bundle ran (named by their dist/ path).
const LOADED = `const loaded = () => [...Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(root)}, f)),
  ...require(${JSON.stringify(path.join(root, 'dist', 'load.js'))}).ranModules()];`;

test('require(\'sd-activate\') and activate() without LISTEN_PID load neither the lazy modules nor the addon', () => {
  const out = inChild(`${LOADED}
    require('node:http');
    const before = new Set(process.moduleLoadList);
    const sd = require('sd-activate');
    const a = sd.activate({ web: { port: 1, bind: '127.0.0.1' } });
    // Before loaded(), which requires dist/load.js (and node:vm) itself.
    const builtins = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ')).map((m) => m.slice(13));
    const afterActivate = loaded();
    const backend = sd.backend;
    console.log(JSON.stringify({ afterActivate, afterBackend: loaded(), backend, inherited: a.inherited('web'), builtins }));`);
  // Of Node's own modules, an app that loaded node:http loads node:vm (the
  // loader) and the resolver of package.json "exports"; node:os, for the errno
  // table and the host's interfaces, only where those are needed.
  assert.ok(out.builtins.includes('vm'), out.builtins);
  assert.ok(!out.builtins.includes('os'), `node:os loaded by import and activate(): ${out.builtins}`);
  for (const m of LAZY) assert.ok(!out.afterActivate.includes(`dist/${m}.js`), `dist/${m}.js loaded by import or activate(): ${out.afterActivate}`);
  assert.ok(!out.afterActivate.some((f) => f.endsWith('.node')), `the addon loaded before it was needed: ${out.afterActivate}`);
  assert.ok(out.afterBackend.some((f) => f.endsWith('.node')), 'reading backend loads the addon');
  assert.ok(['libsystemd', 'builtin'].includes(out.backend), out.backend);
  assert.equal(out.inherited, false);
});

test('a lazy export runs its module on first read; both entries share one run of each module', () => {
  const out = inChild(`${LOADED}
    const sd = require('sd-activate');
    const atImport = require('./dist/load.js').ranModules().slice();
    const before = loaded().includes('dist/lifecycle.js');
    const fn = sd.lifecycle;
    const after = loaded().includes('dist/lifecycle.js');
    const names = Object.keys(sd).filter((k) => sd[k] === undefined);
    const ran = require('./dist/load.js').ranModules();
    console.log(JSON.stringify({ before, after, fn: typeof fn, undefinedExports: names, ran, atImport, again: require('sd-activate') === sd }));`,
  ['--require', path.join(root, 'dist', 'register.js')]);
  assert.equal(out.before, false);
  assert.equal(out.after, true);
  assert.equal(out.fn, 'function');
  assert.deepEqual(out.undefinedExports, []);
  assert.equal(out.again, true);
  // The preload's entry and the main entry ran in one bundle: each module once
  // (the two entry files Node loads each carry the loader, which runs it once).
  for (const m of ['dist/register.js', 'dist/index.js', 'dist/slot.js', 'dist/binding.js']) assert.ok(out.ran.includes(m), `${m} ran: ${out.ran}`);
  assert.deepEqual(out.ran.filter((f, i) => out.ran.indexOf(f) !== i), [], 'a module ran twice');
  for (const m of LAZY) assert.ok(!out.atImport.includes(`dist/${m}.js`), `dist/${m}.js ran at import under the preload: ${out.atImport}`);
});

/** A copy of the package (dist, scripts, package.json; build, prebuilds and node_modules linked) to change its bundle or cache. */
function packageCopy(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-bundle-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.cpSync(path.join(root, 'scripts'), path.join(dir, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  for (const d of ['build', 'prebuilds', 'node_modules']) if (fs.existsSync(path.join(root, d))) fs.symlinkSync(path.join(root, d), path.join(dir, d));
  return dir;
}

const CACHE_STATE = (dir) => `const sd = require(${JSON.stringify(dir)});
  const a = sd.activate({ web: { port: 1, bind: '127.0.0.1' } });
  console.log(JSON.stringify({ cache: require(${JSON.stringify(path.join(dir, 'dist', 'load.js'))}).cacheState(), exports: Object.keys(sd).length, ok: a.inherited('web') === false }));`;

test('the bundle compiles with the code cache made for this node, and without one it is the same package', (t) => {
  const dir = packageCopy(t);
  const load = require(path.join(dir, 'dist', 'load.js'));
  const build = fs.readFileSync(load.BUNDLE, 'latin1').split('\n')[0].slice(load.BUILD_PREFIX.length);
  assert.match(build, /^[0-9a-f]{16}$/);
  const file = load.cacheFile(build);
  const withCache = inChild(CACHE_STATE(dir));
  assert.equal(withCache.cache, fs.existsSync(file) ? 'used' : 'none', `cache file ${file}`);
  assert.equal(withCache.ok, true);

  // None for this V8 (another node, or --ignore-scripts): compiled from source, same exports.
  fs.rmSync(path.join(dir, 'dist', 'cache'), { recursive: true, force: true });
  const none = inChild(CACHE_STATE(dir));
  assert.deepEqual(none, { ...withCache, cache: 'none' });

  // scripts/code-cache.js (build and install time) writes one that V8 accepts.
  const write = () => {
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'code-cache.js')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(file), r.stdout);
  };
  write();
  assert.equal(inChild(CACHE_STATE(dir)).cache, 'used');

  // The preload's entry loads the bundle with a cache of its own (what the
  // preload's path runs), and only with that one: the main entry's is not its.
  const registerFile = load.cacheFile(build, 'register');
  assert.notEqual(registerFile, file);
  assert.ok(fs.existsSync(registerFile), registerFile);
  const preloaded = () => inChild(`console.log(JSON.stringify({ cache: require(${JSON.stringify(path.join(dir, 'dist', 'load.js'))}).cacheState() }))`,
    ['--require', path.join(dir, 'dist', 'register.js')]).cache;
  assert.equal(preloaded(), 'used');
  fs.rmSync(registerFile);
  assert.equal(preloaded(), 'none', 'the preload never compiles with the main entry\'s cache');
  assert.equal(inChild(CACHE_STATE(dir)).cache, 'used');
  write();
  assert.equal(preloaded(), 'used');

  // A cache V8 refuses (damaged, other flags) is not used: compiled from source.
  const bytes = fs.readFileSync(file);
  bytes.fill(0x5a, 0, 64);
  fs.writeFileSync(file, bytes);
  assert.deepEqual(inChild(CACHE_STATE(dir)), { ...withCache, cache: 'rejected' });

  // Another build of the bundle, even of the same length (which is all V8
  // checks of the source), never uses this build's cache.
  write();
  const source = fs.readFileSync(load.BUNDLE, 'latin1');
  const other = build.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  fs.writeFileSync(load.BUNDLE, source.replace(build, other), 'latin1');
  assert.equal(inChild(CACHE_STATE(dir)).cache, 'none');
});

test('ESM: every named export, backend included, is the CommonJS one', () => {
  const code = `import * as esm from 'sd-activate';
    import { createRequire } from 'node:module';
    const cjs = createRequire(import.meta.url)('sd-activate');
    const names = Object.keys(cjs);
    const missing = names.filter((k) => !(k in esm));
    const differ = names.filter((k) => esm[k] !== cjs[k]);
    // Nothing more either: the loader bundled into the entry adds no names.
    const extra = Object.keys(esm).filter((k) => k !== 'default' && !names.includes(k));
    console.log(JSON.stringify({ n: names.length, missing, differ, extra, backend: esm.backend, hasBackend: names.includes('backend') }));`;
  const out = inChild(code, ['--input-type=module']);
  assert.ok(out.n > 30, `exports: ${out.n}`);
  assert.deepEqual(out.missing, []);
  assert.deepEqual(out.differ, []);
  assert.deepEqual(out.extra, []);
  assert.equal(out.hasBackend, true);
  assert.ok(['libsystemd', 'builtin'].includes(out.backend));
});

test('a process its LISTEN_PID names loads the addon at import and adopts; report().backend is the addon\'s', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const r = await runChild({ fds: [s.fd], script: 'lazy-app.js', env: { PORT: String(s.port) } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.adopted, [3]);
  // Loaded at import, its backend chosen on a thread meanwhile (chooseBackendSoon).
  assert.equal(r.json.addonBeforeActivate, true);
  assert.equal(r.json.reportBackend, r.json.backend);
  assert.equal(r.json.infoBackend, r.json.backend);
  assert.ok(['libsystemd', 'builtin'].includes(r.json.backend), r.json.backend);
  // One file of the package for Node to load: the entry, which carries the
  // loader and hands the bundle its addon (no dist/load.js, dist/addon.js).
  assert.deepEqual(r.json.packageFiles, ['dist/index.js']);
});

test('LISTEN_PID naming another process: no addon at import', () => {
  const out = inChild(`${LOADED}
    require('sd-activate');
    console.log(JSON.stringify({ addon: loaded().some((f) => f.endsWith('.node')) }));`, [], { LISTEN_PID: '1', LISTEN_FDS: '1' });
  assert.deepEqual(out, { addon: false });
});

test('the backend chosen on a thread is the one a first use chooses, SD_ACTIVATE_BACKEND included', () => {
  const addon = require('node-gyp-build').path(root);
  const code = (soon) => `const a = require(${JSON.stringify(addon)});
    ${soon ? 'a.chooseBackendSoon(); a.chooseBackendSoon();' : ''}
    console.log(JSON.stringify({ backend: a.backend, linkage: a.linkage, path: a.libsystemdPath }));`;
  for (const env of [{}, { SD_ACTIVATE_BACKEND: 'builtin' }]) {
    const first = inChild(code(false), [], env);
    assert.deepEqual(inChild(code(true), [], env), first, JSON.stringify(env));
    if (env.SD_ACTIVATE_BACKEND) assert.equal(first.backend, 'builtin');
  }
});
