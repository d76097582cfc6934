#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// One decision for both build systems (binding.gyp and CMakeLists.txt):
// which backend to compile, from USE_SYSTEMD = yes | no | auto | dlopen.
//
//   node scripts/detect-libsystemd.js <defines|cflags|libs|mode> [USE_SYSTEMD]
//
// The mode comes from the argument, else $USE_SYSTEMD, else npm config
// (`npm install --use-systemd=no` sets npm_config_use_systemd), else `auto`.
//   yes    libsystemd linked, and required: fail, naming what is missing, without it
//   no     builtin backend only
//   auto   (default) no link-time libsystemd: libsystemd.so.0 is opened at run
//          time where the host has it, else the builtin backend runs; what the
//          prebuilt binaries do, so a build copied to a host without libsystemd
//          (a multi-stage image) keeps working. Needs no headers, no pkg-config.
//   dlopen the same as auto (the older name)
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const what = process.argv[2];
const raw = (process.argv[3] || process.env.USE_SYSTEMD || process.env.npm_config_use_systemd || 'auto')
  .trim().toLowerCase();
const aliases = { '1': 'yes', true: 'yes', on: 'yes', '0': 'no', false: 'no', off: 'no', '': 'auto' };
const mode = aliases[raw] || raw;

function fail(message) {
  process.stderr.write(`\nsd-activate: ${message}\n\n`);
  process.exit(1);
}

function pkgConfig(...args) {
  // $PKG_CONFIG names the pkg-config binary, as in autoconf and meson.
  const r = spawnSync(process.env.PKG_CONFIG || 'pkg-config', args, { encoding: 'utf8' });
  if (r.error) return { missing: true };
  return { ok: r.status === 0, out: (r.stdout || '').trim(), err: (r.stderr || '').trim() };
}

function decide() {
  if (!['yes', 'no', 'auto', 'dlopen'].includes(mode)) {
    fail(`USE_SYSTEMD must be yes, no, auto or dlopen (got "${raw}")`);
  }
  if (mode === 'no') return { backend: 'builtin' };
  // A build linked to libsystemd.so.0 does not load where it is absent (the
  // addon then is "unavailable"): only an explicit `yes` links.
  if (mode === 'dlopen' || mode === 'auto') return { backend: 'dlopen' };
  // yes: linked, so pkg-config and libsystemd's development files are required.
  const version = pkgConfig('--version');
  if (version.missing || !version.ok) {
    fail('USE_SYSTEMD=yes but pkg-config was not found. Install it (apt-get install pkg-config) ' +
      'or build with USE_SYSTEMD=auto (libsystemd loaded at run time) or USE_SYSTEMD=no (builtin backend).');
  }
  const lib = pkgConfig('--exists', '--print-errors', 'libsystemd');
  if (!lib.ok) {
    fail('USE_SYSTEMD=yes but pkg-config cannot find libsystemd' +
      (lib.err ? ` (${lib.err.split('\n')[0]})` : '') +
      '. Install it (apt-get install libsystemd-dev) or build with USE_SYSTEMD=auto (libsystemd loaded at run time) ' +
      'or USE_SYSTEMD=no (builtin backend).');
  }
  return {
    backend: 'libsystemd',
    version: pkgConfig('--modversion', 'libsystemd').out,
    cflags: pkgConfig('--cflags', 'libsystemd').out,
    libs: pkgConfig('--libs', 'libsystemd').out,
  };
}

const d = decide();
const defines = ['NAPI_VERSION=8', 'NAPI_DISABLE_CPP_EXCEPTIONS', '_GNU_SOURCE'];
if (d.backend === 'libsystemd') defines.push('SDACT_LIBSYSTEMD=1');
if (d.backend === 'dlopen') defines.push('SDACT_DLOPEN=1');

// SDACT_PREBUILD=1 (set by scripts/prebuilds.js): a binary for other hosts.
// Every libc reference is pinned to the version at the floor (GLIBC_2.28 on
// x64, 2.17 on arm64) by a force-included header; the C++ runtime stays the
// shared libstdc++ that Node itself loads (docs/building.md).
const prebuild = process.env.SDACT_PREBUILD === '1';
if (prebuild && d.backend !== 'dlopen') fail('SDACT_PREBUILD=1 needs USE_SYSTEMD=dlopen');
const compat = path.join(__dirname, '..', 'native', 'glibc-compat.h');

const out = {
  mode: d.backend,
  defines: defines.join(' '),
  cflags: [d.cflags || '', prebuild ? `-include ${compat}` : ''].filter(Boolean).join(' '),
  libs: [d.libs || '', '-ldl'].filter(Boolean).join(' '),
}[what];
if (out === undefined) fail('usage: detect-libsystemd.js <defines|cflags|libs|mode> [USE_SYSTEMD]');
if (what === 'mode') process.stderr.write(`sd-activate: USE_SYSTEMD=${mode} -> ${d.backend} backend\n`);
process.stdout.write(out + '\n');
