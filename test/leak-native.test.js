// SPDX-License-Identifier: MIT
'use strict';
// No fd, thread or memory growth in the native layer: a child (with
// --expose-gc) calls every primitive thousands of times (describe, probes,
// listenFds, watchdog, booted, notify with and without fds, to NOTIFY_SOCKET
// and to an explicit address, notify to a missing socket, the test addon's
// notifyAsync and barrier, openSocket + close, NotifyReceiver create +
// close) and reports the open-fd count, thread count and RSS after a warm-up
// and after each round. Runs once per backend.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { openSocket, runChild } = require('./helpers/child');

const ROUNDS = 4;
const PER_ROUND = Number(process.env.SD_ACTIVATE_LEAK_ITERATIONS || 2500);
const MB = 1024 * 1024;

test(`fd count and threads flat, RSS bounded over ${ROUNDS} x ${PER_ROUND} iterations of every primitive`, async (t) => {
  const r = await runChild({
    script: path.join(__dirname, 'fixtures', 'leak-native-child.js'),
    args: [String(ROUNDS), String(PER_ROUND)],
    fds: [openSocket('tcp', '127.0.0.1', 0).fd],
    nodeArgs: ['--expose-gc'],
    timeout: 50000,
  });
  assert.equal(r.code, 0, r.stderr);
  const { samples, counts } = r.json;
  assert.equal(samples.length, ROUNDS + 1);
  assert.equal(counts.received, counts.sent, 'every datagram arrived');
  assert.ok(counts.receivedFds >= 2 * PER_ROUND * ROUNDS, 'fds were passed');
  const [base, ...rest] = samples;
  for (const s of rest) {
    assert.equal(s.fds, base.fds, `open fds ${samples.map((x) => x.fds)}`);
    assert.equal(s.threads, base.threads, `threads ${samples.map((x) => x.threads)}`);
  }
  const growth = samples[samples.length - 1].rss - base.rss;
  assert.ok(growth < 30 * MB, `RSS grew ${(growth / MB).toFixed(1)} MB: ${samples.map((x) => (x.rss / MB).toFixed(1))}`);
  t.diagnostic(`${counts.calls} native calls, ${counts.sent} datagrams (${counts.receivedFds} fds passed); ` +
    `open fds ${samples.map((x) => x.fds).join(' ')}; threads ${samples.map((x) => x.threads).join(' ')}; ` +
    `RSS MB ${samples.map((x) => (x.rss / MB).toFixed(1)).join(' ')} (growth ${(growth / MB).toFixed(1)} MB after warm-up)`);
});
