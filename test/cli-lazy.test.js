// SPDX-License-Identifier: MIT
'use strict';
// `sd-activate --lazy`: the command binds and starts nothing until a
// connection waits on a socket; after a child exits 0 (an idle exit) the next
// connection starts another, as a .socket unit does.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { child, startCli, alive } = require('./helpers/cli');
const { get } = require('./helpers/http');
const { slack } = require('./helpers/common');

const pidOf = (r) => Number(/^(?:pid |\S+ )?(\d+)/.exec(r.body)?.[1]);

test('--lazy: nothing starts until the first connection, which is then served; after an exit 0 the next connection starts another', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--lazy', '--', ...child('serve', '--crash-after', '500', '--crash-code', '0')]);
  try {
    await h.waitFor(/waiting for a connection on tcp 127\.0\.0\.1:\d+ to start .* \(--lazy\)/);
    const port = h.ports()[0];
    await new Promise((r) => setTimeout(r, slack(500)));
    assert.equal(h.pids().length, 0, 'no child before a connection');
    const first = await get(port);
    assert.equal(first.status, 200, JSON.stringify(first));
    assert.equal(pidOf(first), h.pids()[0]);
    assert.ok(h.stderr.some((l) => /a connection on tcp 127\.0\.0\.1:\d+: starting/.test(l)));
    await h.waitFor(/pid \d+ exited with code 0/);
    await h.waitFor(/waiting for a connection on/, { count: 2 });
    assert.equal(alive(h.pids()[0]), false);
    const second = await get(port);
    assert.equal(second.status, 200);
    assert.equal(h.pids().length, 2);
    assert.equal(pidOf(second), h.pids()[1]);
  } finally {
    await h.stop();
  }
});

test('--lazy: a child that fails ends the command with its status; SIGTERM while waiting exits at once', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--lazy', '--', ...child('exit', '3')]);
  await h.waitFor(/waiting for a connection/);
  await get(h.ports()[0], '127.0.0.1', '/', 2000);
  const r = await h.done;
  assert.equal(r.code, 3, r.stderr);
  const w = startCli(['-l', '127.0.0.1:0', '--lazy', '--', ...child('serve')]);
  await w.waitFor(/waiting for a connection/);
  w.proc.kill('SIGTERM');
  const r2 = await w.done;
  assert.match(r2.stderr, /SIGTERM: no child running, exiting/);
  assert.equal(r2.code, 0, 'stopping the idle state is a clean stop');
  assert.equal(w.pids().length, 0);
  // A child that exits 0 at once, never ready, is not an idle exit: the waiting
  // connection would start it again and again. The command ends instead.
  const q = startCli(['-l', '127.0.0.1:0', '--lazy', '--', ...child('exit', '0')]);
  await q.waitFor(/waiting for a connection/);
  const pending = get(q.ports()[0], '127.0.0.1', '/', 3000);
  const r3 = await q.done;
  await pending;
  assert.equal(r3.code, 0, r3.stderr);
  assert.equal(q.pids().length, 1, 'started once, not in a loop');
});

test('--lazy with the zero-code preload and SD_ACTIVATE_IDLE_EXIT_MS: scale to zero on a laptop, every request answered', async () => {
  const app = path.join(__dirname, 'fixtures', 'preload-app.js');
  const port = require('./helpers/child').freePort();
  const steps = JSON.stringify([{ op: 'listen', id: 'a', args: [port, '127.0.0.1'] }, { op: 'serve' }]);
  const l = startCli(['-l', `127.0.0.1:${port}`, '--lazy', '--', process.execPath, app, steps], {
    preload: true, env: { SD_ACTIVATE_IDLE_EXIT_MS: '300', SD_ACTIVATE_SETTLE_MS: '50' },
  });
  try {
    await l.waitFor(/waiting for a connection/);
    const pids = [];
    for (let k = 1; k <= 3; k++) {
      const r = await get(port, '127.0.0.1', '/', 15000);
      assert.equal(r.status, 200, JSON.stringify(r));
      pids.push(pidOf(r));
      await l.waitFor(/idle for 300 ms \(no open connection\): exiting with status 0/, { count: k });
      await l.waitFor(/waiting for a connection on/, { count: k + 1 });
    }
    assert.equal(new Set(pids).size, 3, `three instances, one per idle cycle: ${pids}`);
  } finally {
    await l.stop();
  }
});
