#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// `npm test`: builds what is missing (TypeScript, the addon, the test addon
// under test/native: scripts/test-addon.js), then runs the node:test suites once per backend this build offers (libsystemd when it
// loads, and builtin via SD_ACTIVATE_BACKEND=builtin), then the real-manager
// end-to-end suite where it can run (it says why when it skips).
//
//   npm test                  everything
//   npm test -- test/x.test.js  selected files
//   SD_ACTIVATE_BACKENDS=builtin npm test   one backend only
//   SD_ACTIVATE_E2E=0 npm test              skip the real-manager suite
//   SD_ACTIVATE_FRAMEWORKS=1 npm test       install the framework fixture and run it (0: skip; unset: only if set up)
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { addonPath: testAddonPath, ensureTestAddon } = require('./test-addon');

const root = path.join(__dirname, '..');
process.chdir(root);

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r.status === null ? 1 : r.status;
}

// What every run passed and failed, for the one line at the end.
const tally = [];

/**
 * Run a test command, its output passed through as it comes, and count what
 * it reports: node:test's `# pass N` / `# fail N`, the e2e suite's
 * `# N passed, N failed`. A run that fails without saying counts as one failure.
 */
function runCounted(label, cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['inherit', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let buf = '';
    const counts = { pass: 0, fail: 0 };
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let m = /^# (pass|fail) (\d+)$/.exec(line);
        if (m) counts[m[1]] += Number(m[2]);
        m = /^# (\d+) passed, (\d+) failed/.exec(line);
        if (m) { counts.pass += Number(m[1]); counts.fail += Number(m[2]); }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && counts.fail === 0) counts.fail = 1;
      tally.push({ label, ...counts });
      resolve(code === null ? 1 : code);
    });
  });
}

function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

// 1. TypeScript.
const distIndex = path.join(root, 'dist', 'index.js');
if (!fs.existsSync(distIndex) || fs.statSync(distIndex).mtimeMs < newest(path.join(root, 'lib'))) {
  if (run(process.execPath, [path.join(root, 'scripts', 'build-ts.js')]) !== 0) process.exit(1);
}

// 2. The addon: whatever node-gyp-build finds, else a node-gyp build.
let addon;
try {
  addon = require('node-gyp-build')(root);
} catch {
  if (run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild']) !== 0) process.exit(1);
  addon = require('node-gyp-build')(root);
}

// 3. The test addon (test-only primitives; the product's built again with libsystemd where the host has it).
if (ensureTestAddon() !== 0) process.exit(1);

// Which backends an addon offers: it chooses one when it loads, so each is probed in a fresh process.
const offers = (load) => ['libsystemd', 'builtin'].filter((backend) => spawnSync(process.execPath,
  ['-p', `${load}.backend`],
  { env: { ...process.env, SD_ACTIVATE_BACKEND: backend }, encoding: 'utf8' }).stdout.trim() === backend);

let backends = offers(`require('node-gyp-build')(${JSON.stringify(root)})`);
if (process.env.SD_ACTIVATE_BACKENDS) {
  backends = process.env.SD_ACTIVATE_BACKENDS.split(',').map((s) => s.trim()).filter(Boolean);
}
if (backends.length === 0) {
  console.error(`sd-activate tests: no backend loads (the addon reports ${addon.backend}); nothing would be tested`);
  process.exit(1);
}
const files = process.argv.slice(2);
const suites = files.length > 0 ? files : fs.readdirSync(path.join(root, 'test'))
  .filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('test', f));

const testAddon = require(testAddonPath);
console.log(`sd-activate tests: addon backend ${addon.backend} (${addon.linkage}); test addon ${testAddon.buildMode} build ` +
  `offering ${offers(`require(${JSON.stringify(testAddonPath)})`).join(', ')}; running on: ${backends.join(', ')}`);
(async () => {
  let failed = 0;
  for (const backend of backends) {
    console.log(`\n# backend: ${backend}`);
    const status = await runCounted(backend, process.execPath, ['--test', '--test-concurrency=2', ...suites], {
      SD_ACTIVATE_BACKEND: backend,
      SD_ACTIVATE_EXPECT_BACKEND: backend,
    });
    if (status !== 0) failed++;
  }

  // 4. Real frameworks under the command (test/frameworks): once, not per backend.
  //    SD_ACTIVATE_FRAMEWORKS=1 installs the fixture and must run; unset, only where it is set up; 0 skips.
  if (files.length === 0 && process.env.SD_ACTIVATE_FRAMEWORKS !== '0') {
    console.log('\n# real frameworks, unmodified, under sd-activate (test/frameworks)');
    if (await runCounted('frameworks', process.execPath, ['--test', '--test-concurrency=1', path.join('test', 'frameworks', 'frameworks.test.js')]) !== 0) failed++;
  }

  // 5. The real service manager, where this machine can run one.
  const e2e = path.join(root, 'test', 'e2e', 'run.sh');
  if (files.length === 0 && process.env.SD_ACTIVATE_E2E !== '0' && fs.existsSync(e2e)) {
    console.log('\n# real systemd manager (test/e2e/run.sh)');
    if (await runCounted('e2e', 'bash', [e2e]) !== 0) failed++;
  }

  const sum = (k) => tally.reduce((n, t) => n + t[k], 0);
  console.log(`\nsd-activate tests: ${sum('pass')} passed, ${sum('fail')} failed (${tally.map((t) => `${t.label} ${t.pass}/${t.fail}`).join(', ')})`);
  process.exit(failed > 0 ? 1 : 0);
})();
