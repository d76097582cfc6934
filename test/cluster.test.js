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

    test('workers killed under load: no connection is refused', async (t) => {
      const c = startCluster({ policy });
      try {
        let { ready } = await c.next((l) => l.ready);
        const load = startLoad({ port: c.port, rate: 200, timeoutMs: 20000 });
        for (let round = 0; round < 3; round++) {
          await new Promise((r) => setTimeout(r, 300));
          for (const pid of ready) process.kill(pid, 'SIGKILL');
          ({ ready } = await c.next((l) => l.ready));
        }
        await new Promise((r) => setTimeout(r, 300));
        const st = await load.stop();
        t.diagnostic(`policy ${policy}: ${JSON.stringify(st)}`);
        assert.equal(st.refused, 0, JSON.stringify(st));
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
