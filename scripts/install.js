#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// sd-activate's install script (package.json "install"). It decides, and
// never fails an install it cannot help:
//
//   not Linux (macOS, Windows, FreeBSD...)   nothing to build: the package
//        imports with backend "unavailable" (systemd is Linux-only). Never
//        compiles, never fails.
//   Linux, a binary that loads here (build/Release, or a prebuild matching
//        platform, arch and libc, chosen as node-gyp-build chooses)
//        nothing to do.
//   Linux, USE_SYSTEMD set (environment or npm config)
//        an explicit request for a source build: build, and fail as the build
//        fails (USE_SYSTEMD=yes without libsystemd must fail).
//   Linux, no binary that loads (musl, armv7, ppc64le, an older glibc...)
//        build from source when a toolchain is present (a failing build fails
//        the install, as node-gyp-build would); else finish the install with
//        one line naming what is missing (exit 0): backend "unavailable".
//
// Then, where the package has its bundle (dist/bundle.js), it writes the V8
// code cache of it for this node (scripts/code-cache.js), which a failure
// never fails the install for: without it the bundle compiles from source.
//
// SD_ACTIVATE_INSTALL_VERBOSE=1 says what was decided in every case.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const verbose = process.env.SD_ACTIVATE_INSTALL_VERBOSE === '1';
const say = (line) => process.stderr.write(`sd-activate: ${line}\n`);
const info = (line) => { if (verbose) say(line); };

/** Which of the tools a node-gyp build needs are missing from PATH. */
function missingTools() {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  const found = (names) => names.some((n) => (path.isAbsolute(n) ? [n] : dirs.map((d) => path.join(d, n)))
    .some((f) => { try { fs.accessSync(f, fs.constants.X_OK); return fs.statSync(f).isFile(); } catch { return false; } }));
  const cxx = (process.env.CXX || '').split(' ')[0];
  const missing = [];
  if (!found([process.env.PYTHON || 'python3', 'python3', 'python'].filter(Boolean))) missing.push('python3');
  if (!found(['make', 'gmake'])) missing.push('make');
  if (!found([cxx, 'c++', 'g++', 'clang++'].filter(Boolean))) missing.push('a C++ compiler (g++ or clang++)');
  return missing;
}

/** The binary node-gyp-build would load here and whether it loads, or why not. */
function probe() {
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch (err) {
    return { reason: String(err.message || err).split('\n')[0] };
  }
  try {
    require(file);
    return { file };
  } catch (err) {
    return { file, reason: `${path.relative(root, file)} does not load here: ${String(err.message || err).split('\n')[0]}` };
  }
}

function build() {
  // npm sets npm_config_node_gyp to its own node-gyp; else the one on PATH
  // (npm puts its node-gyp-bin there while it runs scripts).
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) {
    say(`cannot run node-gyp (${r.error.message}); install it, or run \`npm rebuild sd-activate\``);
    return 1;
  }
  return r.status === null ? 1 : r.status;
}

function main() {
  const where = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') {
    info(`${where}: systemd is Linux-only, nothing to build; the package imports with backend "unavailable"`);
    return 0;
  }
  const requested = process.env.USE_SYSTEMD || process.env.npm_config_use_systemd;
  if (requested) {
    info(`USE_SYSTEMD=${requested}: building from source`);
    return build();
  }
  const p = probe();
  if (!p.reason) {
    info(`using ${path.relative(root, p.file)}`);
    return 0;
  }
  const missing = missingTools();
  if (!missing.length) {
    info(`${p.reason}; building from source`);
    return build();
  }
  say(`no prebuilt binary for ${where} loads here (${p.reason}) and ${missing.join(', ')} ` +
    `${missing.length > 1 ? 'are' : 'is'} missing to build one: installed without the native addon ` +
    '(backend "unavailable": nothing is inherited, notify returns false). ' +
    'Install them, then run `npm rebuild sd-activate`.');
  return 0;
}

/** The code cache for this node; a failure is a line in verbose mode, never a failed install. */
function codeCache() {
  if (!fs.existsSync(path.join(root, 'dist', 'bundle.js'))) return;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'code-cache.js')], { cwd: root, encoding: 'utf8', timeout: 60000 });
  info(r.status === 0 ? `code cache: ${r.stdout.trim()}` : `no code cache (${(r.stderr || r.error?.message || '').trim()}); the bundle compiles from source`);
}

process.exitCode = main();
if (process.exitCode === 0) codeCache();
