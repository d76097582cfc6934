// SPDX-License-Identifier: MIT
'use strict';
// node:cluster on inherited sockets (lib/cluster.ts): a real primary with the
// socket at fd 3 and LISTEN_PID its own pid, real workers forked with
// forkWorker(), both scheduling policies. What is asserted is read from the
// sockets (ss, connects) and the processes' /proc.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { openSocket, startChild } = require('./helpers/child');
const { slack } = require('./helpers/common');
const { get } = require('./helpers/http');
const { startLoad } = require('../scripts/load');

/** Start the cluster app on an inherited 127.0.0.1 socket; lines: the primary's JSON events as they come. */
function startCluster({ policy, workers = 2, env = {} }) {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const inode = `socket:[${fs.fstatSync(s.fd).ino}]`;
  const child = startChild({ fds: [s.fd], script: 'cluster-app.js', timeout: 60000,
    env: { NODE_CLUSTER_SCHED_POLICY: policy, CLUSTER_WORKERS: String(workers), LISTENER: JSON.stringify({ port: s.port, bind: '127.0.0.1' }), ...env } });
  const lines = [];
  let buf = '';
  child.proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      try { lines.push(JSON.parse(buf.slice(0, i))); } catch { /* not ours */ }
      buf = buf.slice(i + 1);
    }
  });
  const next = async (pred, ms = 20000) => {
    const end = Date.now() + slack(ms);
    for (;;) {
      const hit = lines.find(pred);
      if (hit) { lines.splice(lines.indexOf(hit), 1); return hit; }
      if (Date.now() > end || child.proc.exitCode !== null) throw new Error(`no matching line from the primary: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { port: s.port, inode, child, next, stop: async () => { child.proc.kill('SIGTERM'); return child.done; } };
}

/** Pids whose command line contains `text`, read from /proc (no pgrep: under the sanitizer leg's LD_PRELOAD it can hang). */
function processesRunning(text) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

const listeningInodes = (port) => execFileSync('ss', ['-ltneH', `sport = :${port}`], { encoding: 'utf8' })
  .split('\n').filter(Boolean).map((l) => `socket:[${/ino:(\d+)/.exec(l)[1]}]`);

for (const policy of ['rr', 'none']) {
  describe(`scheduling policy ${policy === 'rr' ? 'round-robin' : 'SCHED_NONE (shared handle)'}`, () => {
    test('the primary decides, the workers serve its inherited socket (no worker binds its own)', async () => {
      const c = startCluster({ policy });
      try {
        const { ready, inherited } = await c.next((l) => l.ready);
        assert.equal(inherited, true);
        const pids = new Set();
        for (let i = 0; i < 20; i++) {
          const r = await get(c.port);
          assert.equal(r.status, 200, JSON.stringify(r));
          pids.add(Number(r.body));
        }
        assert.ok([...pids].every((p) => ready.includes(p)), `answered by workers only: ${[...pids]} vs ${ready}`);
        assert.deepEqual([...new Set(listeningInodes(c.port))], [c.inode], 'every listening socket on the port is the inherited one');
        assert.equal(fs.readlinkSync(`/proc/${c.child.proc.pid}/fd/3`), c.inode, 'the primary still holds fd 3');
      } finally {
        const r = await c.stop();
        assert.equal(r.code, 0, r.stderr);
      }
    });

    test('the socket outlives the workers: all killed at once, connections made meanwhile wait and are served by the next ones; the primary leaks no fd', async () => {
      const c = startCluster({ policy, env: { CLUSTER_RESPAWN: '0' } });
      try {
        const { ready } = await c.next((l) => l.ready);
        c.child.proc.kill('SIGUSR1');
        const before = (await c.next((l) => l.fds !== undefined)).fds;
        for (let round = 0; round < 3; round++) {
          const alive = round === 0 ? ready : (await c.next((l) => l.ready)).ready;
          for (const pid of alive) process.kill(pid, 'SIGKILL');
          for (let k = 0; k < alive.length; k++) await c.next((l) => l.exited !== undefined);
          // No worker now: these connect (the primary's socket is open) and wait in its queue.
          const waiting = Array.from({ length: 10 }, () => get(c.port, '127.0.0.1', '/', 20000));
          await new Promise((r) => setTimeout(r, 200));
          c.child.proc.kill('SIGUSR2');
          const answers = await Promise.all(waiting);
          for (const a of answers) assert.equal(a.status, 200, `a connection made while no worker ran: ${JSON.stringify(a)}`);
        }
        await c.next((l) => l.ready);
        c.child.proc.kill('SIGUSR1');
        const after = (await c.next((l) => l.fds !== undefined)).fds;
        assert.equal(after, before, 'the primary has as many fds as before three generations of workers');
      } finally {
        await c.stop();
      }
    });

    test('workers killed under load: no connection is refused, none is left hanging', async (t) => {
      const c = startCluster({ policy });
      try {
        let { ready } = await c.next((l) => l.ready);
        const load = startLoad({ port: c.port, rate: 200, timeoutMs: slack(10000) });
        for (let round = 0; round < 3; round++) {
          await new Promise((r) => setTimeout(r, 300));
          for (const pid of ready) process.kill(pid, 'SIGKILL');
          ({ ready } = await c.next((l) => l.ready));
        }
        await new Promise((r) => setTimeout(r, 300));
        const st = await load.stop();
        t.diagnostic(`policy ${policy}: ${JSON.stringify(st)}`);
        assert.equal(st.refused, 0, JSON.stringify(st));
        // A connection on its way to a killed worker is closed (a reset), never left open in the primary.
        assert.equal(st.errors.ETIMEDOUT, undefined, JSON.stringify(st));
        assert.ok(st.served > 0, JSON.stringify(st));
      } finally {
        await c.stop();
      }
    });
  });
}

test('a worker whose activate() config differs from its primary\'s plan is told so, and binds itself', async () => {
  const s = openSocket('tcp', '127.0.0.1', 0);
  const child = startChild({ fds: [s.fd], script: 'cluster-app.js', env: { NODE_CLUSTER_SCHED_POLICY: 'rr', CLUSTER_WORKERS: '1', CLUSTER_RESPAWN: '0',
    LISTENER: JSON.stringify({ port: s.port, bind: '127.0.0.1' }), LISTENER_WORKER: JSON.stringify({ port: s.port, bind: '127.0.0.1', backlog: 7 }) } });
  let out = '';
  child.proc.stdout.on('data', (d) => { out += d; });
  const end = Date.now() + slack(20000);
  while (!out.includes('exited') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  child.proc.kill('SIGTERM');
  const r = await child.done;
  assert.match(r.stdout, /"workerError":"EADDRINUSE"/, 'it bound the port itself: the primary holds it');
  assert.match(r.stderr, /\[SD_ACTIVATE_PLAN_MISMATCH\].*for another listener configuration than the one given to activate\(\) here/);
});

describe('lifecycle({ cluster }): READY once the workers listen, rolling reloads, stop', () => {
  const { startReceiver } = require('./helpers/receiver');
  const path = require('node:path');
  const os = require('node:os');

  async function startPrimary(t, { policy = 'rr', env = {} } = {}) {
    const recv = await startReceiver();
    t.after(() => recv.close());
    const s = openSocket('tcp', '127.0.0.1', 0);
    const child = startChild({ fds: [s.fd], script: 'cluster-lifecycle-app.js', timeout: 120000,
      env: { NODE_CLUSTER_SCHED_POLICY: policy, PORT: String(s.port), NOTIFY_SOCKET: recv.address, ...env } });
    t.after(() => { if (child.proc.exitCode === null) child.proc.kill('SIGKILL'); });
    const lines = [];
    let buf = '';
    child.proc.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
    });
    const nextReady = async (k) => {
      const end = Date.now() + slack(30000);
      while (lines.filter((l) => l.ready).length < k) {
        if (Date.now() > end || child.proc.exitCode !== null) throw new Error(`no ready line #${k}: ${JSON.stringify(lines)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return lines.filter((l) => l.ready)[k - 1].ready;
    };
    // The primary's stdout line and its datagrams race to the test: count a message kind once n have come (or the wait ran out).
    const countOf = async (re, n) => {
      const end = Date.now() + slack(3000);
      const count = () => recv.messages.filter((m) => re.test(m.text)).length;
      while (count() < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return count();
    };
    return { port: s.port, recv, child, nextReady, countOf };
  }

  const answeredBy = async (port, n = 20) => {
    const pids = new Set();
    for (let i = 0; i < n; i++) {
      const r = await get(port);
      assert.equal(r.status, 200, JSON.stringify(r));
      pids.add(Number(r.body));
    }
    return pids;
  };

  for (const policy of ['rr', 'none']) {
    test(`${policy}: SIGHUP replaces every worker (RELOADING=1 + MONOTONIC_USEC ... READY=1) under load: 0 refused, 0 failed`, async (t) => {
      const p = await startPrimary(t, { policy });
      const first = await p.nextReady(1);
      await p.recv.next((m) => m.text.includes('READY=1') && m.pid === p.child.proc.pid);
      const load = startLoad({ port: p.port, rate: 200, timeoutMs: 20000 });
      let gen = first;
      for (let k = 2; k <= 4; k++) {
        p.child.proc.kill('SIGHUP');
        const next = await p.nextReady(k);
        assert.ok(next.every((pid) => !gen.includes(pid)), `a new generation: ${next} after ${gen}`);
        for (const pid of gen) assert.throws(() => process.kill(pid, 0), 'the old worker is gone');
        gen = next;
      }
      const st = await load.stop();
      t.diagnostic(`${policy}: 3 rolling reloads at 200 conn/s: ${JSON.stringify({ sent: st.sent, served: st.served, refused: st.refused, failed: st.failed, p99Ms: st.p99Ms })}`);
      assert.equal(st.refused, 0, JSON.stringify(st));
      assert.equal(st.failed, 0, JSON.stringify(st));
      const served = await answeredBy(p.port);
      assert.ok([...served].every((pid) => gen.includes(pid)), 'the last generation serves');
      assert.equal(await p.countOf(/RELOADING=1/, 3), 3);
      for (const m of p.recv.messages.filter((x) => x.text.includes('RELOADING=1'))) assert.match(m.text, /MONOTONIC_USEC=\d+/);
      assert.equal(await p.countOf(/^READY=1$/m, 4), 4);
    });
  }

  test('a new generation that cannot listen is stopped; the old one keeps serving, and READY=1 says the reload failed', async (t) => {
    const fail = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-cl-')), 'fail');
    t.after(() => fs.rmSync(path.dirname(fail), { recursive: true, force: true }));
    const p = await startPrimary(t, { env: { FAIL_FILE: fail } });
    const first = await p.nextReady(1);
    fs.writeFileSync(fail, '');
    p.child.proc.kill('SIGHUP');
    const after = await p.nextReady(2);
    assert.deepEqual(after.sort(), first.sort(), 'the same workers serve');
    const m = await p.recv.next((x) => /STATUS=Reload failed: worker \d+ exited \(1\) before it listened/.test(x.text));
    assert.match(m.text, /READY=1/);
    for (const pid of await answeredBy(p.port)) assert.ok(first.includes(pid));
  });

  test('a reload asked for during a reload runs after it; SIGTERM stops every worker, forks none again, and the primary exits 0', async (t) => {
    const p = await startPrimary(t);
    const first = await p.nextReady(1);
    p.child.proc.kill('SIGHUP');
    await p.recv.next((m) => m.text.includes('RELOADING=1'));
    p.child.proc.kill('SIGHUP');
    // Both SIGHUPs' reload() calls resolve when the queued reload has run too.
    await p.nextReady(2);
    const third = await p.nextReady(3);
    assert.ok(third.every((pid) => !first.includes(pid)), 'a new generation');
    assert.equal(await p.countOf(/^READY=1$/m, 3), 3);
    assert.equal(await p.countOf(/RELOADING=1/, 2), 2, 'the second reload was queued and ran after the first');
    p.child.proc.kill('SIGTERM');
    const r = await p.child.done;
    assert.equal(r.code, 0, r.stderr);
    await p.recv.next((m) => m.text.includes('STOPPING=1'));
    for (const pid of third) assert.throws(() => process.kill(pid, 0), 'the workers are gone');
  });
});

test('lifecycle({ cluster }): SIGTERM during a reload leaves no worker behind, old or new', async (t) => {
  const { startReceiver } = require('./helpers/receiver');
  const recv = await startReceiver();
  t.after(() => recv.close());
  const s = openSocket('tcp', '127.0.0.1', 0);
  const child = startChild({ fds: [s.fd], script: 'cluster-lifecycle-app.js', timeout: 60000,
    env: { PORT: String(s.port), NOTIFY_SOCKET: recv.address, CLUSTER_WORKERS: '2' } });
  await recv.next((m) => /^READY=1$/m.test(m.text));
  child.proc.kill('SIGHUP');
  await recv.next((m) => m.text.includes('RELOADING=1'));
  child.proc.kill('SIGTERM');
  const r = await child.done;
  assert.equal(r.code, 0, r.stderr);
  const end = Date.now() + slack(5000);
  let left;
  do {
    left = processesRunning('fixtures/cluster-lifecycle-app.js').join(' ');
    if (left === '') break;
    await new Promise((res) => setTimeout(res, 50));
  } while (Date.now() < end);
  assert.equal(left, '', 'no worker of that primary is left');
});

test('a worker stopping while its round-robin primary is busy: the connection already handed to it is served by another worker, not left open', async (t) => {
  // The primary accepts a queued connection and hands it to worker A (the
  // first free one) only after A has stopped. A's lifecycle exit waits for the
  // primary's goodbye acknowledgement, so it reads the hand-off and declines it;
  // a worker that just exited would leave the primary holding the connection.
  const { freePort } = require('./helpers/child');
  const port = freePort();
  const child = startChild({ script: 'cluster-exit-race-app.js', timeout: 30000, env: { PORT: String(port), BLOCK_MS: String(Math.min(slack(2500), 4000)) } }); // within the worker's 5 s wait for its primary; long enough for the steps below on a loaded machine
  t.after(() => { if (child.proc.exitCode === null) child.proc.kill('SIGKILL'); });
  let buf = '';
  const line = (pred) => new Promise((resolve) => {
    const look = () => {
      const hit = buf.split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l)).find(pred); // whole lines only
      if (hit) { child.proc.stdout.off('data', onData); resolve(hit); }
    };
    const onData = (d) => { buf += d; look(); };
    child.proc.stdout.on('data', onData);
    look();
  });
  const { workers: [a, b] } = await line((j) => j.workers);
  child.proc.kill('SIGUSR2');
  await line((j) => j.blocking); // the primary is blocked from here on
  const res = get(port, '127.0.0.1', '/', 4000); // queued in the kernel
  await new Promise((r) => setTimeout(r, 100));
  process.kill(a, 'SIGTERM'); // A stops before the primary is back
  assert.deepEqual(await res, { status: 200, body: `${b}\n` });
  const end = Date.now() + slack(3000);
  while (fs.existsSync(`/proc/${a}`) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!fs.existsSync(`/proc/${a}`), 'worker A exited (and was reaped)');
});
