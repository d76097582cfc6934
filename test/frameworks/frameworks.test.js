// SPDX-License-Identifier: MIT
'use strict';
// Real frameworks, unmodified, under the `sd-activate` command (which adds the
// zero-code preload to their node command): each one's own listen() adopts the
// inherited socket (the listening socket on the port is the one the command
// passed, at the same inode, and the app bound nothing of its own there), it
// serves, an extra inherited socket no listen() asks for is never served and
// is warned about, and 20 restarts (SIGHUP) under load lose no connection.
//
// Run once per CI run (scripts/test.js, after the per-backend suites), not per
// backend: SD_ACTIVATE_FRAMEWORKS=1 installs and builds the fixture
// (test/frameworks/setup.js) and must run; unset, it runs only where the
// fixture is already set up; 0 skips. A framework that cannot be installed or
// built here is skipped with the reason from setup.js.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startCli } = require('../helpers/cli');
const { get, unanswered } = require('../helpers/http');
const { freePort } = require('../helpers/child');
const { startLoad } = require('../../scripts/load');
const { app, where, stopEnv, HOSTS, ENV_KEYS } = require('./apps');

const RESTARTS = Number(process.env.SD_FRAMEWORK_RESTARTS || 20);
const RATE = Number(process.env.SD_FRAMEWORK_RATE || 200);
const mode = process.env.SD_ACTIVATE_FRAMEWORKS ?? 'auto';

let status;
before(async () => {
  if (mode === '0') return;
  const ready = fs.existsSync(path.join(__dirname, '.status.json')) && fs.existsSync(path.join(__dirname, 'node_modules'));
  if (mode !== '1' && !ready) return;
  status = await require('./setup').setup();
}, { timeout: 15 * 60 * 1000 });

/** The listening sockets on `port`, as ss sees them: their inodes. */
function listeningInodes(port) {
  const out = execFileSync('ss', ['-ltneH', `sport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => /ino:(\d+)/.exec(l)?.[1]).filter(Boolean).map((i) => `socket:[${i}]`);
}

/** The socket inodes process `pid` holds, by fd. */
function socketFds(pid) {
  const out = {};
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (l.startsWith('socket:')) out[fd] = l;
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

const base = () => {
  const env = { ...process.env };
  for (const k of ENV_KEYS) delete env[k];
  return env;
};

const bracket = (ip) => (ip.includes(':') ? `[${ip}]` : ip);

for (const name of Object.keys(HOSTS)) {
  test(`${name}, unmodified, under sd-activate: adopted, served, the extra socket never served, ${RESTARTS} restarts under load lose nothing`, {
    timeout: 10 * 60 * 1000,
  }, async (t) => {
    if (!status) return t.skip(mode === '0' ? 'SD_ACTIVATE_FRAMEWORKS=0' : 'the fixture is not set up (node test/frameworks/setup.js, or SD_ACTIVATE_FRAMEWORKS=1)');
    if (!status[name]?.ok) {
      if (mode === '1' && process.env.CI) assert.fail(`${name} could not be set up: ${status[name]?.reason}`);
      return t.skip(`${name} could not be installed or built here: ${status[name]?.reason ?? 'unknown'}`);
    }
    const { host, addresses, target } = await where(name);
    const port = freePort();
    const extra = freePort();
    const extraFd = 3 + addresses.length;
    const a = app(name, { port, host });
    const h = startCli([...addresses.flatMap((ip) => ['-l', `${bracket(ip)}:${port}`]), '-l', `127.0.0.1:${extra}`, '--', process.execPath, ...a.command], {
      preload: true, cwd: a.cwd, timeout: 10 * 60 * 1000,
      env: { ...base(), ...a.env, ...stopEnv(name) },
    });
    t.after(() => h.kill());
    await h.waitFor(/is ready after/, { ms: 60000 });
    const [pid] = h.pids();

    // Adopted: the listening sockets on the port are the inherited ones (the app bound none of its own),
    // each at its fd (3, 4, ...) and listened on by the app through a duplicate.
    const inodes = listeningInodes(port);
    const fds = socketFds(pid);
    assert.deepEqual(inodes.sort(), addresses.map((_, k) => fds[String(3 + k)]).sort(), `the listening sockets on ${port} are the inherited ones`);
    for (const ino of inodes) {
      assert.ok(Object.entries(fds).some(([fd, i]) => Number(fd) >= extraFd + 1 && i === ino), `the app listens on ${ino} (a duplicate)`);
    }
    const adopted = h.stderr.filter((l) => /listen\(.*\): adopted inherited fd \d/.test(l));
    assert.equal(adopted.length, addresses.length, h.stderr.join('\n'));

    // Served.
    const answer = await get(port, target);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.ok(answer.body.includes(a.text), JSON.stringify(answer));

    // The extra socket: never served, warned about at the settle moment.
    assert.equal(await unanswered(extra), true);
    const warned = h.stderr.filter((l) => /\[SD_ACTIVATE_REJECTED_FD\]/.test(l));
    assert.equal(warned.length, 1, h.stderr.join('\n'));
    assert.match(warned[0], new RegExp(`rejected inherited fd ${extraFd} \\(tcp 127\\.0\\.0\\.1:${extra} \\(listening\\)\\): no listener is configured for tcp port ${extra}; kept it open and unserved`));

    // Restarts under load.
    const load = startLoad({ host: target, port, rate: RATE, timeoutMs: 30000 });
    for (let k = 2; k <= RESTARTS + 1; k++) {
      h.proc.kill('SIGHUP');
      await h.waitFor(/is ready after/, { count: k, ms: 60000 });
    }
    await new Promise((r) => setTimeout(r, 200));
    const st = await load.stop();
    t.diagnostic(`${name} ${a.version}: ${RESTARTS} restarts, ${JSON.stringify({ sent: st.sent, served: st.served, refused: st.refused, failed: st.failed, errors: st.errors, p99Ms: st.p99Ms, worstMs: st.worstMs })}`);
    assert.equal(st.refused, 0, JSON.stringify(st));
    assert.equal(st.failed, 0, JSON.stringify(st));
    assert.ok(st.served > 0 && st.served === st.sent, JSON.stringify(st));
    assert.equal(h.pids().length, RESTARTS + 1);
    const r = await h.stop();
    assert.ok(r.code === 0 || r.code === 143, `the command ended with the app's status (${r.code})`);
  });
}
