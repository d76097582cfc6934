// SPDX-License-Identifier: MIT
'use strict';
// Small things several suites need: a per-test temporary directory, the
// kernel's listen backlog cap, the backend a test run expects, and what the
// sanitizer leg (scripts/sanitize.sh) needs: time slack and the sanitizer
// runtimes kept out of processes that are not node.
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

/**
 * SD_ACTIVATE_TIME_SCALE (default 1): how much slower than plain this run is.
 * scripts/sanitize.sh sets it for ASan + UBSan; waits and child timeouts are
 * multiplied by it (`slack(ms)`), what a test asserts about time is not.
 */
const TIME_SCALE = Number(process.env.SD_ACTIVATE_TIME_SCALE || 1);
const slack = (ms) => Math.round(ms * TIME_SCALE);

/**
 * The sanitizer runtimes scripts/sanitize.sh preloads into node, which loads
 * the sanitized addon (SD_ACTIVATE_SANITIZER_PRELOAD, equal to LD_PRELOAD there), or ''.
 */
const SANITIZER_PRELOAD = process.env.SD_ACTIVATE_SANITIZER_PRELOAD || '';

/** `env` (default process.env) for a process that does not load the addon (sh, python3, a plain node): without the sanitizer runtimes. */
function plainEnv(env = process.env) {
  if (!SANITIZER_PRELOAD || env.LD_PRELOAD !== SANITIZER_PRELOAD) return env;
  const { LD_PRELOAD, ...rest } = env;
  return rest;
}

/**
 * A `sh -c` script that sets `assignments` (e.g. 'LISTEN_PID=$$') and execs
 * "$0" "$@" (node): the shell runs without the sanitizer runtimes (spawn it
 * with plainEnv()), node with them.
 */
function shExec(assignments) {
  const preload = SANITIZER_PRELOAD ? 'LD_PRELOAD="$SD_ACTIVATE_SANITIZER_PRELOAD" ' : '';
  return `${preload}${assignments} exec "$0" "$@"`;
}

/**
 * systemd-socket-activate passes on only the variables named with -E: the
 * `-E` arguments that give node the sanitizer runtimes and their options (none outside the leg).
 */
function sanitizerSetenv() {
  if (!SANITIZER_PRELOAD) return [];
  const vars = ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'SD_ACTIVATE_TIME_SCALE'].filter((k) => process.env[k] !== undefined);
  return [`LD_PRELOAD=${SANITIZER_PRELOAD}`, ...vars.map((k) => `${k}=${process.env[k]}`)].flatMap((v) => ['-E', v]);
}

module.exports = { EXPECT_BACKEND, SOMAXCONN, TIME_SCALE, SANITIZER_PRELOAD, tmpdir, checkBackend, slack, plainEnv, shExec,
  sanitizerSetenv };
