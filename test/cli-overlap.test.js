// SPDX-License-Identifier: MIT
'use strict';
// `sd-activate --overlap`: a restart starts the next run on the same sockets
// and stops the old one only once the new one sent READY=1; a new run that
// exits or stays silent is stopped and the old one keeps serving; the newest
// ready run is the main process for the fd store; restarts asked for during
// one are queued.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { child, startCli, alive } = require('./helpers/cli');
const { get } = require('./helpers/http');
const { slack } = require('./helpers/common');
const { startLoad } = require('../scripts/load');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-cli-overlap-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const pidOf = async (port) => {
  const r = await get(port);
  assert.equal(r.status, 200, JSON.stringify(r));
  return Number(/^pid (\d+)/.exec(r.body)[1]);
};
const index = (h, re) => h.stderr.findIndex((l) => re.test(l));

test('--overlap: the old run stops only after the new one is ready, and under load nothing is refused or failed', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--', ...child('serve', '--ready-after', '300')]);
  try {
    await h.waitFor(/is ready after/);
    const port = h.ports()[0];
    const load = startLoad({ port, rate: 200, timeoutMs: 15000 });
    for (let k = 2; k <= 4; k++) {
      h.proc.kill('SIGHUP');
      const [, next, old] = await h.waitFor(/pid (\d+) is serving: stopping pid (\d+)/, { count: k - 1 });
      const pids = h.pids();
      assert.equal(Number(next), pids[k - 1]);
      assert.equal(Number(old), pids[k - 2]);
      await h.waitFor(new RegExp(`pid ${old} (exited|was killed)`));
    }
    const st = await load.stop();
    assert.equal(st.refused, 0, JSON.stringify(st));
    assert.equal(st.failed, 0, JSON.stringify(st));
    assert.ok(st.served > 100, JSON.stringify(st));
    const pids = h.pids();
    for (let k = 1; k < pids.length; k++) {
      // The new run was ready (and so serving) while the old one still ran.
      const ready = index(h, new RegExp(`pid ${pids[k]} is ready after`));
      const oldExit = index(h, new RegExp(`pid ${pids[k - 1]} (exited|was killed)`));
      assert.ok(ready >= 0 && ready < oldExit, `pid ${pids[k]} ready before pid ${pids[k - 1]} exited:\n${h.stderr.join('\n')}`);
    }
    assert.equal(await pidOf(port), pids[3], 'the newest run serves');
    for (const pid of pids.slice(0, 3)) assert.equal(alive(pid), false);
  } finally {
    await h.stop();
  }
});

test('--overlap: a new run that exits before it is ready, or sends no READY=1 in time, is reported and the old one keeps serving', async () => {
  const exitFile = path.join(tmp, 'exit');
  const silentFile = path.join(tmp, 'silent');
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--ready-timeout', '1', '--',
    ...child('serve', '--exit-if', exitFile, '--no-ready-if', silentFile)]);
  try {
    await h.waitFor(/is ready after/);
    const port = h.ports()[0];
    const first = h.pids()[0];
    fs.writeFileSync(exitFile, '');
    h.proc.kill('SIGHUP');
    const [, crashed] = await h.waitFor(/restart failed: pid (\d+) exited before it was ready; pid (\d+) keeps serving/);
    assert.notEqual(Number(crashed), first);
    assert.equal(await pidOf(port), first);
    fs.rmSync(exitFile);
    fs.writeFileSync(silentFile, '');
    h.proc.kill('SIGHUP');
    const [, silent] = await h.waitFor(/restart failed: pid (\d+) sent no READY=1 within 1 s \(--ready-timeout\): stopped it; pid \d+ keeps serving/);
    assert.equal(alive(Number(silent)), false, 'the silent run was stopped');
    assert.equal(await pidOf(port), first, 'the first run still serves');
    fs.rmSync(silentFile);
    h.proc.kill('SIGHUP');
    await h.waitFor(/pid (\d+) is serving: stopping pid (\d+)/);
    await h.waitFor(new RegExp(`pid ${first} (exited|was killed)`)); // until then it may still accept
    assert.equal(await pidOf(port), h.pids().at(-1), 'a fixed run takes over');
  } finally {
    await h.stop();
  }
});

test('--overlap: a first run that never sends READY=1 is reported unfit at once, with the fix', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--ready-timeout', '0.5', '--', ...child('serve', '--no-ready')]);
  try {
    await h.waitFor(/sent no READY=1 within 0\.5 s \(--ready-timeout\): --overlap cannot tell/);
    const line = h.stderr.find((l) => l.includes('--overlap cannot tell'));
    assert.match(line, /zero-code preload/);
    assert.match(line, /without --overlap/);
    assert.equal((await get(h.ports()[0])).status, 200, 'it still serves');
  } finally {
    await h.stop();
  }
});

test('--overlap: SIGHUP during an overlapped restart is queued and runs after it; never more than two runs at once', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--', ...child('serve', '--ready-after', '600')]);
  try {
    await h.waitFor(/is ready after/);
    h.proc.kill('SIGHUP');
    await h.waitFor(/started pid/, { count: 2 });
    h.proc.kill('SIGHUP');
    h.proc.kill('SIGHUP'); // one queued restart covers both
    await h.waitFor(/restart because SIGHUP queued: a restart is under way/);
    await h.waitFor(/pid (\d+) is serving: stopping pid (\d+)/, { count: 2 });
    await new Promise((r) => setTimeout(r, slack(1500)));
    const pids = h.pids();
    assert.equal(pids.length, 3, `exactly one queued restart ran:\n${h.stderr.join('\n')}`);
    await h.waitFor(new RegExp(`pid ${pids[1]} (exited|was killed)`)); // until then it may still accept
    // The third run started only once the second restart was complete.
    const third = index(h, new RegExp(`started pid ${pids[2]}`));
    const firstGone = index(h, new RegExp(`pid ${pids[0]} (exited|was killed)`));
    assert.ok(firstGone >= 0 && firstGone < third, h.stderr.join('\n'));
    assert.equal(await pidOf(h.ports()[0]), pids[2]);
  } finally {
    await h.stop();
  }
});

test('--overlap and the fd store: a replaced run\'s FDSTORE=1 is ignored, and no run removes what a later run stored', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--fdstore', '8', '--',
    ...child('serve', '--store', 'gen', '--on-usr2-remove', 'gen', '--on-term-store', 'late', '--ready-after', '1500')]);
  try {
    await h.waitFor(/is ready after/);
    const [p1, r1] = [h.pids()[0], await h.waitJson((j) => j.stored && j.name === 'gen')];
    h.proc.kill('SIGHUP');
    await h.waitFor(/started pid/, { count: 2 });
    const p2 = h.pids()[1];
    const r2 = await h.waitJson((j) => j.stored && j.name === 'gen' && j.pid === p2);
    // While run 2 starts, run 1 is still the main one: its removal takes its own socket, not run 2's.
    await h.waitFor(/stored .* as gen \(2 of 8\)/);
    process.kill(p1, 'SIGUSR2');
    await h.waitFor(new RegExp(`pid ${p1} removed stored fd gen: the one a later run stored is kept`));
    await h.waitFor(/removed stored fd gen$/);
    await h.waitFor(new RegExp(`pid ${p2} is serving: stopping pid ${p1}`));
    // Stopped after it was replaced, run 1 stores "late": ignored.
    await h.waitFor(new RegExp(`pid ${p1} was replaced by pid ${p2}: its FDSTORE=1 is ignored \\(fds closed\\)`));
    h.proc.kill('SIGHUP');
    await h.waitFor(/started pid/, { count: 3 });
    const p3 = h.pids()[2];
    const report = await h.waitJson((j) => j.pid === p3 && j.fds);
    const gens = report.fds.filter((f) => f.name === 'gen').map((f) => f.desc.port);
    assert.deepEqual(gens, [r2.stored], `run 3 inherits run 2's socket only (run 1's was ${r1.stored})`);
    assert.equal(report.fds.filter((f) => f.name === 'late').length, 0, 'nothing from the replaced run');
  } finally {
    await h.stop();
  }
});

test('--overlap: SIGTERM during an overlapped restart stops both runs; the command exits with the main run\'s status', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--', ...child('serve', '--ready-after', '2000', '--term-exit', '7')]);
  await h.waitFor(/is ready after/);
  h.proc.kill('SIGHUP');
  await h.waitFor(/started pid/, { count: 2 });
  const pids = h.pids();
  h.proc.kill('SIGTERM');
  const r = await h.done;
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, new RegExp(`passing SIGTERM to pid ${pids[0]}, ${pids[1]}`));
  for (const pid of pids) assert.equal(alive(pid), false);
});

test('--overlap: a new run that exits while the old one is still being stopped is not lost: the restart policy applies', async () => {
  const crashFile = path.join(tmp, 'crash');
  const h = startCli(['-l', '127.0.0.1:0', '--overlap', '--stop-timeout', '2', '--',
    ...child('serve', '--ignore-term', '--crash-after-ready-if', crashFile)]);
  await h.waitFor(/is ready after/);
  fs.writeFileSync(crashFile, '');
  h.proc.kill('SIGHUP');
  await h.waitFor(/pid (\d+) is serving: stopping pid (\d+)/);
  // The old run ignores SIGTERM (SIGKILL after 2 s); the new one exits 4 meanwhile.
  const r = await h.done;
  fs.rmSync(crashFile);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /still running 2 s after SIGTERM: sending SIGKILL/);
});

test('--overlap and --lazy are refused with --accept', async () => {
  const { runCli } = require('./helpers/cli');
  for (const flag of ['--overlap', '--lazy']) {
    const r = await runCli(['-l', '127.0.0.1:0', '--accept', flag, '--', 'true']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${flag} does not apply`));
  }
});
