#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// The release build of the prebuilt binaries (`npm run prebuilds`):
//
//   node scripts/prebuilds.js [--arch x64,arm64]
//
// For each architecture, prebuildify builds one N-API binary with
// USE_SYSTEMD=dlopen (libsystemd opened at run time) and SDACT_PREBUILD=1
// (libc references pinned to old symbol versions: native/glibc-compat.h),
// stripped and tagged for node-gyp-build:
//
//   prebuilds/linux-x64/sd-activate.glibc.node
//   prebuilds/linux-arm64/sd-activate.glibc.node
//
// arm64 is cross-built with Debian's g++-aarch64-linux-gnu. Then
// scripts/check-prebuilds.js checks the symbol-version floors and prints each
// binary's size and sha256. Run on Debian 12 (x86-64) with
//   apt-get install g++ make python3 g++-aarch64-linux-gnu
// then `npm pack` carries prebuilds/ (docs/building.md).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const archArg = argv.indexOf('--arch') >= 0 ? argv[argv.indexOf('--arch') + 1] : 'x64,arm64';
const arches = archArg.split(',').filter(Boolean);

// What each target needs from the toolchain. Cross builds name the compiler,
// linker and strip of the target triple (node-gyp's make honours CC/CXX/LINK).
const toolchains = {
  x64: { triple: 'x86_64-linux-gnu', cross: process.arch !== 'x64' },
  arm64: { triple: 'aarch64-linux-gnu', cross: process.arch !== 'arm64' },
};

function die(message) {
  process.stderr.write(`prebuilds: ${message}\n`);
  process.exit(1);
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
}

if (process.platform !== 'linux') die('prebuilds are built on Linux (Debian 12 x86-64)');
const prebuildify = path.join(root, 'node_modules', '.bin', 'prebuildify');
if (!fs.existsSync(prebuildify)) die('prebuildify is not installed (npm ci)');

const nodePrefix = path.resolve(process.execPath, '..', '..');
fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
for (const arch of arches) {
  const tc = toolchains[arch];
  if (!tc) die(`unknown architecture ${arch} (x64 or arm64)`);
  const env = { ...process.env, USE_SYSTEMD: 'dlopen', SDACT_PREBUILD: '1' };
  // Headers: N-API's are the same for every Node >= 20 (NAPI_VERSION=8), so
  // the running Node's own (<prefix>/include/node) serve, and node-gyp needs
  // no download. $npm_config_nodedir overrides.
  if (!env.npm_config_nodedir && fs.existsSync(path.join(nodePrefix, 'include', 'node', 'node_api.h'))) {
    env.npm_config_nodedir = nodePrefix;
  }
  if (tc.cross) {
    const cxx = `${tc.triple}-g++`;
    if (!have(cxx)) die(`${cxx} not found: apt-get install g++-${tc.triple}`);
    Object.assign(env, {
      CC: `${tc.triple}-gcc`, CXX: cxx, LINK: cxx,
      AR: `${tc.triple}-ar`, PREBUILD_STRIP_BIN: `${tc.triple}-strip`,
    });
  }
  fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
  process.stdout.write(`prebuilds: linux-${arch}${tc.cross ? ` (cross, ${tc.triple}-g++)` : ''}\n`);
  const t0 = Date.now();
  const r = spawnSync(prebuildify, ['--napi', '--strip', '--tag-libc', '--arch', arch, '--target', `node@${process.versions.node}`],
    { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) die(`prebuildify failed for linux-${arch}`);
  process.stdout.write(`prebuilds: linux-${arch} built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
// The build directory holds the last (possibly foreign-arch) build: never
// leave it where node-gyp-build would find it before the prebuilds.
fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });

const check = spawnSync(process.execPath, [path.join(__dirname, 'check-prebuilds.js'), ...argv.filter((a, i) =>
  a !== '--arch' && argv[i - 1] !== '--arch')], { cwd: root, stdio: 'inherit' });
process.exit(check.status === null ? 1 : check.status);
