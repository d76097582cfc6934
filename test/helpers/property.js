// SPDX-License-Identifier: MIT
'use strict';
// Generated tests as fast-check properties, so that a failure is shrunk to a
// small counterexample. One seed per test process, printed as a diagnostic
// and in every failure with the commands that replay it:
//   SD_ACTIVATE_SEED=<n> npm test -- <file>                       the whole run
//   SD_ACTIVATE_SEED=<n> SD_ACTIVATE_PATH=<p> npm test -- <file>  only the shrunk counterexample
const crypto = require('node:crypto');
const fc = require('fast-check');

const seed = process.env.SD_ACTIVATE_SEED ? Number(process.env.SD_ACTIVATE_SEED) : crypto.randomInt(2 ** 31);
/** Set when one counterexample is replayed (SD_ACTIVATE_PATH): the run then has one case, not a sample. */
const replayPath = process.env.SD_ACTIVATE_PATH || undefined;

/**
 * fc.assert(property) with this process's seed (and replay path), for node:test context `t`
 * running `file`. options go to fc.assert (numRuns, examples, ...).
 */
async function assertProperty(t, file, property, options = {}) {
  const replay = `SD_ACTIVATE_SEED=${seed} npm test -- ${file}`;
  t.diagnostic(`seed ${seed}${replayPath ? `, path ${replayPath}` : ''}: replay with ${replay}`);
  try {
    await fc.assert(property, { seed, path: replayPath, includeErrorInReport: true, ...options });
  } catch (err) {
    const m = /path: "([^"]*)"/.exec(err.message);
    err.message += `\nreplay the run: ${replay}`;
    if (m) err.message += `\nreplay the shrunk counterexample: SD_ACTIVATE_SEED=${seed} SD_ACTIVATE_PATH=${m[1]} npm test -- ${file}`;
    throw err;
  }
}

module.exports = { seed, replayPath, assertProperty };
