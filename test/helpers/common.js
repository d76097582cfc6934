'use strict';
// Small things several suites need: a per-test temporary directory, the
// kernel's listen backlog cap, and the backend a test run expects.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');

/** The backend `npm test` runs this pass over (SD_ACTIVATE_EXPECT_BACKEND), if any. */
const EXPECT_BACKEND = process.env.SD_ACTIVATE_EXPECT_BACKEND;

/** net.core.somaxconn: adopted stream sockets are listened on with it unless the listener sets a backlog. */
const SOMAXCONN = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

/** A fresh directory removed after test `t`. */
function tmpdir(t, prefix = 'sd-act-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Assert a child reported the backend this pass expects. */
function checkBackend(reported) {
  if (EXPECT_BACKEND) assert.equal(reported.backend, EXPECT_BACKEND);
}

module.exports = { EXPECT_BACKEND, SOMAXCONN, tmpdir, checkBackend };
