// SPDX-License-Identifier: MIT
'use strict';
// The install and import paths on every platform, simulated on Linux: the
// install script (scripts/install.js) and the package run with
// process.platform / process.arch overridden by a preload
// (fixtures/platform-preload.js).
//
// What this does not prove: that the addon fails to load the way it would on
// a real macOS or Windows (dlopen of a foreign binary never happens here: the
// package does not try on non-Linux), that npm on Windows runs the script
// through cmd.exe the same way, that a real musl or armv7 host's node-gyp
// build succeeds, or that node-gyp-build's libc detection sees a real Alpine.
// Those need the real systems; this checks the decisions.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const PRELOAD = path.join(__dirname, 'fixtures', 'platform-preload.js');
const DIST = path.join(ROOT, 'dist');
// The addon this run loads (build/Release, or the prebuild in the prebuild legs).
const BUILT = require('node-gyp-build').resolve(ROOT);

/**
 * A package directory like an installed sd-activate: scripts/install.js and
 * package.json, node_modules from this repository, optionally a prebuild
 * (this machine's own build, so it loads) for linux-<arch>. A bin directory
 * with node, and stubs for the toolchain the test says is present; node-gyp is
 * a stub that records its arguments and exits with `gypStatus`.
 */
function fixture({ prebuildArch, tools = [], gypStatus = 0 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-install-'));
  const pkg = path.join(dir, 'pkg');
  fs.mkdirSync(path.join(pkg, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'scripts', 'install.js'), path.join(pkg, 'scripts', 'install.js'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  if (prebuildArch) {
    fs.mkdirSync(path.join(pkg, 'prebuilds', `linux-${prebuildArch}`), { recursive: true });
    fs.copyFileSync(BUILT, path.join(pkg, 'prebuilds', `linux-${prebuildArch}`, 'sd-activate.glibc.node'));
  }
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  for (const t of tools) fs.writeFileSync(path.join(bin, t), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const gypLog = path.join(dir, 'node-gyp.log');
  const gyp = path.join(dir, 'node-gyp.js');
  fs.writeFileSync(gyp, `require('fs').appendFileSync(${JSON.stringify(gypLog)}, process.argv.slice(2).join(' ') + '\\n');
process.exit(${gypStatus});\n`);
  return {
    dir, pkg, bin, gyp,
    built: () => (fs.existsSync(gypLog) ? fs.readFileSync(gypLog, 'utf8').trim().split('\n') : []),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function install(f, { platform, arch, env = {} }) {
  const childEnv = { ...process.env, PATH: f.bin, npm_config_node_gyp: f.gyp, ...env };
  for (const k of ['USE_SYSTEMD', 'npm_config_use_systemd', 'CXX', 'PYTHON', 'SD_ACTIVATE_INSTALL_VERBOSE']) {
    if (!(k in env)) delete childEnv[k];
  }
  return spawnSync(process.execPath, ['-r', PRELOAD, path.join(f.pkg, 'scripts', 'install.js')], {
    cwd: f.pkg, encoding: 'utf8', timeout: 20000,
    env: { ...childEnv, SDACT_TEST_PLATFORM: platform, SDACT_TEST_ARCH: arch || process.arch },
  });
}

const TOOLCHAIN = ['python3', 'make', 'g++'];

for (const platform of ['darwin', 'win32', 'freebsd']) {
  test(`install on ${platform}: never compiles, never fails, even with a toolchain`, (t) => {
    const f = fixture({ tools: TOOLCHAIN });
    t.after(f.cleanup);
    const r = install(f, { platform, env: { SD_ACTIVATE_INSTALL_VERBOSE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(f.built(), [], 'node-gyp was not run');
    assert.match(r.stderr, /Linux-only, nothing to build/);
    const quiet = install(f, { platform });
    assert.equal(quiet.status, 0);
    assert.equal(quiet.stderr, '', 'silent unless asked');
  });
}

test('install on Linux with a matching prebuild: nothing to do, even without a toolchain', (t) => {
  const f = fixture({ prebuildArch: process.arch });
  t.after(f.cleanup);
  const r = install(f, { platform: 'linux' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(f.built(), []);
});

test('install on Linux without a matching prebuild, no toolchain: one line naming what is missing, exit 0', (t) => {
  const f = fixture({ prebuildArch: process.arch });
  t.after(f.cleanup);
  const r = install(f, { platform: 'linux', arch: 'riscv64' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(f.built(), []);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^sd-activate: no prebuilt binary for linux-riscv64 loads here/);
  assert.match(lines[0], /python3, make, a C\+\+ compiler \(g\+\+ or clang\+\+\) are missing/);
  assert.match(lines[0], /backend "unavailable"/);
  assert.match(lines[0], /npm rebuild sd-activate/);
  const some = fixture({ tools: ['python3', 'make'] });
  t.after(some.cleanup);
  const r2 = install(some, { platform: 'linux', arch: 'riscv64' });
  assert.equal(r2.status, 0);
  assert.match(r2.stderr, /and a C\+\+ compiler \(g\+\+ or clang\+\+\) is missing/, 'names only what is missing');
});

test('install on Linux without a matching prebuild, toolchain present: builds from source; a failed build fails', (t) => {
  const f = fixture({ tools: TOOLCHAIN });
  t.after(f.cleanup);
  const r = install(f, { platform: 'linux', arch: 'ppc64' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(f.built(), ['rebuild']);
  const bad = fixture({ tools: TOOLCHAIN, gypStatus: 3 });
  t.after(bad.cleanup);
  assert.equal(install(bad, { platform: 'linux', arch: 'ppc64' }).status, 3, 'the build failure is the install failure');
});

test('install with USE_SYSTEMD set builds from source although a prebuild matches', (t) => {
  const f = fixture({ prebuildArch: process.arch, tools: TOOLCHAIN });
  t.after(f.cleanup);
  assert.equal(install(f, { platform: 'linux', env: { USE_SYSTEMD: 'yes' } }).status, 0);
  assert.equal(install(f, { platform: 'linux', env: { npm_config_use_systemd: 'no' } }).status, 0);
  assert.deepEqual(f.built(), ['rebuild', 'rebuild']);
});

function runPackage(platform, code, env = {}) {
  return spawnSync(process.execPath, ['-r', PRELOAD, '-e', code], {
    encoding: 'utf8', timeout: 20000, env: { ...process.env, SDACT_TEST_PLATFORM: platform, ...env },
  });
}

for (const platform of ['darwin', 'win32', 'freebsd']) {
  test(`import on ${platform}: backend unavailable with the reason; activate binds; notify false`, () => {
    const code = `const sd = require(${JSON.stringify(DIST)});
      const warnings = [];
      const a = sd.activate({ http: { port: 0, bind: '127.0.0.1' } }, { onWarning: (w) => warnings.push(w.code + ': ' + w.message) });
      console.log(JSON.stringify({ backend: sd.backend, loadError: sd.backendInfo().loadError.message,
        targets: a.targets('http'), notify: sd.notify({ READY: 1 }), warnings }));`;
    const r = runPackage(platform, code, { NOTIFY_SOCKET: '/run/nonexistent/notify', LISTEN_FDS: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing printed at import');
    const out = JSON.parse(r.stdout);
    assert.equal(out.backend, 'unavailable');
    assert.match(out.loadError, new RegExp(`Linux-only \\(this is ${platform}-`));
    assert.deepEqual(out.targets, [{ host: '127.0.0.1', port: 0 }]);
    assert.equal(out.notify, false);
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0], /^SD_ACTIVATE_UNAVAILABLE: .*Linux-only.*exist on Linux only/);
  });
}

test('the command on macOS exits with a clear message (--help and --version still work)', () => {
  const cli = path.join(DIST, 'cli.js');
  const run = (...args) => spawnSync(process.execPath, ['-r', PRELOAD, cli, ...args], {
    encoding: 'utf8', timeout: 20000, env: { ...process.env, SDACT_TEST_PLATFORM: 'darwin' },
  });
  const r = run('-l', '127.0.0.1:0', '--', process.execPath, '-e', '1');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^sd-activate: runs on Linux only \(this is darwin\)/);
  assert.equal(run('--version').status, 0);
  assert.equal(run('--help').status, 0);
});
