// SPDX-License-Identifier: MIT
'use strict';
// Which backends this build offers, in the product addon or the test addon
// (probed in fresh processes: the backend is chosen when an addon loads), and whether the current `npm test` pass is the
// one that runs tests spawning their own child per backend: those run once,
// in the pass of the first backend available, not again in every pass.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const LOAD = {
  product: `require('node-gyp-build')(${JSON.stringify(ROOT)})`,
  test: `require(${JSON.stringify(require('../../scripts/test-addon').addonPath)})`,
};
const cache = new Map();

/** Whether `backend` loads in the product addon, or with addon 'test' in the test addon (test/native). */
function backendAvailable(backend, addon = 'product') {
  const key = `${addon} ${backend}`;
  if (!cache.has(key)) {
    const r = spawnSync(process.execPath, ['-p', `${LOAD[addon]}.backend`],
      { env: { ...process.env, SD_ACTIVATE_BACKEND: backend }, encoding: 'utf8' });
    cache.set(key, r.stdout.trim() === backend);
  }
  return cache.get(key);
}

function availableBackends() {
  return ['libsystemd', 'builtin'].filter((b) => backendAvailable(b));
}

/** Skip reason for a cross-backend test in any pass but the first, else false. */
function crossBackendSkip() {
  const here = process.env.SD_ACTIVATE_BACKEND || require('./native').backend;
  const first = availableBackends()[0];
  return here === first ? false : `runs its own children on every backend, once: in the ${first} pass`;
}

module.exports = { backendAvailable, availableBackends, crossBackendSkip };
