// SPDX-License-Identifier: MIT
'use strict';
// No fd or memory growth through the public API: one process calls the
// activation introspection and matcher over a real inherited fd, describe,
// every notify path with and without fds, the fd store, watchdog pings and
// start/stop, and barrier, thousands of times (issue 7 item 3; the native
// primitives alone are in leak-native.test.js).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { openSocket, runChild } = require('./helpers/child');

const ROUNDS = 4;
const PER_ROUND = Number(process.env.SD_ACTIVATE_LEAK_ITERATIONS || 1500);
const MB = 1024 * 1024;

test(`public API: open fds flat, RSS bounded over ${ROUNDS} x ${PER_ROUND} iterations`, async (t) => {
  const r = await runChild({
    script: path.join(__dirname, 'fixtures', 'leak-facade-child.js'),
    args: [String(ROUNDS), String(PER_ROUND)],
    fds: [openSocket('tcp', '127.0.0.1', 0).fd],
    nodeArgs: ['--expose-gc'],
    timeout: 55000,
  });
  assert.equal(r.code, 0, r.stderr);
  const { samples, counts } = r.json;
  assert.equal(samples.length, ROUNDS + 1);
  assert.ok(counts.sent > ROUNDS * PER_ROUND * 3, `datagrams sent: ${counts.sent}`);
  assert.equal(counts.received, counts.sent, 'every datagram sent arrived');
  assert.ok(counts.receivedFds >= ROUNDS * PER_ROUND, 'fds were passed');
  const [base, ...rest] = samples;
  for (const s of rest) assert.equal(s.fds, base.fds, `open fds ${samples.map((x) => x.fds)}`);
  const growth = samples[samples.length - 1].rss - base.rss;
  assert.ok(growth < 30 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB: ${samples.map((x) => (x.rss / MB).toFixed(1))}`);
  t.diagnostic(`${counts.sent} datagrams (${counts.receivedFds} fds, ${counts.eagain} EAGAIN); open fds ` +
    `${samples.map((x) => x.fds).join(' ')}; RSS MB ${samples.map((x) => (x.rss / MB).toFixed(1)).join(' ')}`);
});
