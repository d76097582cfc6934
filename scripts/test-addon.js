#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// The test addon (test/native): the product's native sources built once more,
// plus primitives only tests use (notifyAsync, barrier), at
// test/native/build/Release/sd_activate_test.node, never in build/Release.
// `npm test` (scripts/test.js) builds it when it is missing, does not load,
// is older than its sources or reaches libsystemd another way than wanted;
// scripts/sanitize.sh builds it with the sanitizer flags (CXXFLAGS and
// LDFLAGS pass through to node-gyp, as for the product).
//
//   node scripts/test-addon.js [--force]   build when needed (--force: always)
//   npm run build:test-addon               the same with --force, with npm's config
//                                          (node-gyp finds its headers through it)
//
// How it reaches libsystemd (the USE_SYSTEMD it is built with, decided by
// scripts/detect-libsystemd.js as for the product):
//   the product links libsystemd  yes: linked the same way
//   otherwise                     dlopen: the host's libsystemd.so.0 at run
//       time. A USE_SYSTEMD=no or prebuilt product thus still has real
//       libsystemd to be compared with (test/parity.test.js) wherever the
//       host has it, and the test addon loads wherever the product loads,
//       with libsystemd.so.0 absent too.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'test', 'native');
const addonPath = path.join(dir, 'build', 'Release', 'sd_activate_test.node');

/** Run `node -p <expr>` in a fresh process: its output, or null when it failed. */
function evaluate(expr) {
  const r = spawnSync(process.execPath, ['-p', expr], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * The USE_SYSTEMD the test addon is built with, and the build mode it then
 * reports. Whether the product links libsystemd is read with ldd, as .ci/run
 * checks it, without loading the product (a sanitizer build loads only with
 * the sanitizer runtimes preloaded).
 */
function wanted() {
  let product;
  try {
    product = require('node-gyp-build').path(root);
  } catch {
    product = null;
  }
  const ldd = product ? spawnSync('ldd', [product], { encoding: 'utf8' }) : { status: 1 };
  const linked = ldd.status === 0 && /^\s*libsystemd\.so/m.test(ldd.stdout);
  return linked ? { use: 'yes', mode: 'libsystemd' } : { use: 'dlopen', mode: 'dlopen' };
}

function newest(paths) {
  let t = 0;
  for (const p of paths) {
    const st = fs.statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(fs.readdirSync(p).map((e) => path.join(p, e))) : st.mtimeMs);
  }
  return t;
}

/** Why the test addon must be (re)built, or '' when it is up to date. */
function staleness(want) {
  if (!fs.existsSync(addonPath)) return 'missing';
  const sources = [path.join(root, 'native'), path.join(dir, 'binding.gyp'), path.join(dir, 'test_addon.cc'),
    path.join(root, 'scripts', 'detect-libsystemd.js')];
  if (fs.statSync(addonPath).mtimeMs < newest(sources)) return 'older than its sources';
  const mode = evaluate(`require(${JSON.stringify(addonPath)}).buildMode`);
  if (mode === null) return 'does not load';
  if (mode !== want.mode) return `built as ${mode}, ${want.mode} wanted`;
  return '';
}

/**
 * Build the test addon when needed (always with `force`). Returns 0, or the
 * failed build's exit status (its output printed).
 */
function ensureTestAddon({ force = false } = {}) {
  const want = wanted();
  const why = force ? 'forced' : staleness(want);
  if (!why) return 0;
  console.log(`sd-activate tests: building the test addon (test/native, USE_SYSTEMD=${want.use}): ${why}`);
  const r = spawnSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild'],
    { cwd: dir, env: { ...process.env, USE_SYSTEMD: want.use }, encoding: 'utf8' });
  if (r.status === 0) return 0;
  process.stdout.write(r.stdout || '');
  process.stderr.write(r.stderr || (r.error ? String(r.error) : ''));
  return r.status === null ? 1 : r.status;
}

module.exports = { addonPath, ensureTestAddon };

if (require.main === module) process.exit(ensureTestAddon({ force: process.argv.includes('--force') }));
