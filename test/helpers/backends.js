'use strict';
// Which backends this build offers (probed in fresh processes: the backend is
// chosen when the addon loads), and whether the current `npm test` pass is the
// one that runs tests spawning their own child per backend: those run once,
// in the pass of the first backend available, not again in every pass.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const cache = new Map();

function backendAvailable(backend) {
  if (!cache.has(backend)) {
    const r = spawnSync(process.execPath, ['-p', `require('node-gyp-build')(${JSON.stringify(ROOT)}).backend`],
      { env: { ...process.env, SD_ACTIVATE_BACKEND: backend }, encoding: 'utf8' });
    cache.set(backend, r.stdout.trim() === backend);
  }
  return cache.get(backend);
}

function availableBackends() {
  return ['libsystemd', 'builtin'].filter(backendAvailable);
}

/** Skip reason for a cross-backend test in any pass but the first, else false. */
function crossBackendSkip() {
  const here = process.env.SD_ACTIVATE_BACKEND || require('./native').backend;
  const first = availableBackends()[0];
  return here === first ? false : `runs its own children on every backend, once: in the ${first} pass`;
}

module.exports = { backendAvailable, availableBackends, crossBackendSkip };
