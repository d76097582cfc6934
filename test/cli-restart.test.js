// SPDX-License-Identifier: MIT
'use strict';
// The `sd-activate` command's restarts: the sockets stay open while the
// child is replaced (SIGHUP, --watch, --restart), so clients lose nothing.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { child, startCli, alive } = require('./helpers/cli');
const { startLoad } = require('../scripts/load');
const { freePort } = require('./helpers/child');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-cli-restart-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** One GET on a new connection: the body, or the error code. */
function get(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let data = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'));
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(data.slice(data.indexOf('\r\n\r\n') + 4)));
    s.on('error', (e) => resolve(`error ${e.code}`));
  });
}

test('SIGHUP restarts the child under a running client loop: no connection refused or failed', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '-l', `unix:${path.join(tmp, 'hup.sock')}`, '--', ...child('serve')]);
  try {
    await h.waitFor(/is ready after/);
    const port = h.ports()[0];
    const pidsServed = new Set();
    const load = startLoad({ port, rate: 200, timeoutMs: 15000 });
    // A second client loop, sequential, that records who served it.
    let looping = true;
    const bodies = [];
    const loop = (async () => {
      while (looping) bodies.push(await get(port));
    })();
    for (let k = 2; k <= 4; k++) {
      h.proc.kill('SIGHUP');
      await h.waitFor(/is ready after/, { count: k });
      await new Promise((r) => setTimeout(r, 150));
    }
    looping = false;
    await loop;
    const st = await load.stop();
    for (const b of bodies) {
      assert.match(b, /^pid \d+\n$/, `every sequential request served (got ${JSON.stringify(b)})`);
      pidsServed.add(b);
    }
    assert.equal(st.refused, 0, JSON.stringify(st));
    assert.equal(st.failed, 0, JSON.stringify(st));
    assert.ok(st.served > 0 && st.served === st.sent, JSON.stringify(st));
    assert.equal(h.pids().length, 4, 'four children in turn');
    assert.ok(pidsServed.size >= 2, `requests were served by several children: ${[...pidsServed].join(', ')}`);
    assert.equal(h.stderr.filter((l) => /restarting because SIGHUP/.test(l)).length, 3);
    // Each old child was stopped gracefully (SIGTERM, exit 0) and is gone.
    for (const pid of h.pids().slice(0, 3)) {
      assert.ok(h.stderr.includes(`sd-activate: pid ${pid} exited with code 0`), `pid ${pid} exited cleanly`);
      assert.equal(alive(pid), false);
    }
    // Every child saw the same sockets.
    const reports = h.json.filter((j) => j.fds);
    assert.equal(reports.length, 4);
    for (const r of reports) {
      assert.equal(r.env.LISTEN_PID, String(r.pid));
      assert.deepEqual(r.fds.map((f) => [f.fd, f.desc.port, f.desc.path]), reports[0].fds.map((f) => [f.fd, f.desc.port, f.desc.path]));
    }
    const r = await h.stop();
    assert.equal(r.code, 0);
  } finally {
    await h.stop();
  }
});

test('--restart starts the child again when it exits by itself', async () => {
  const h = startCli(['--restart', '-l', '127.0.0.1:0', '--', ...child('serve', '--crash-after', '300', '--crash-code', '9')]);
  try {
    await h.waitFor(/is ready after/, { count: 2 });
    const [first] = h.pids();
    assert.ok(h.stderr.includes(`sd-activate: pid ${first} exited with code 9`));
    assert.ok(h.stderr.some((l) => l === `sd-activate: restarting in 100 ms because pid ${first} exited with code 9`), h.stderr.join('\n'));
    assert.ok(h.pids().length >= 2);
  } finally {
    await h.stop();
  }
});

test('--restart=on-failure ends with the child when it exits 0', async () => {
  const h = startCli(['--restart=on-failure', '-l', '127.0.0.1:0', '--', ...child('exit', '0')]);
  const r = await h.done;
  assert.equal(r.code, 0);
  assert.equal(h.pids().length, 1);
});

test('crash-loop guard: --restart gives up after --restart-limit quick exits and returns the status', async () => {
  const h = startCli(['--restart', '--restart-limit', '3', '-l', '127.0.0.1:0', '--', ...child('exit', '4')]);
  const r = await h.done;
  assert.equal(r.code, 4);
  assert.equal(h.pids().length, 3);
  assert.match(r.stderr, /restarting in 100 ms because/);
  assert.match(r.stderr, /restarting in 200 ms because/);
  assert.match(r.stderr, /giving up: it exited 3 times in a row within 5 s of starting \(--restart-limit 3\)/);
});

test('without --restart or --watch the command ends when the child does', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--', ...child('serve', '--crash-after', '200', '--crash-code', '6')]);
  const r = await h.done;
  assert.equal(r.code, 6);
  assert.equal(h.pids().length, 1);
});

test('--watch: a change restarts the child; changes under node_modules do not', async () => {
  const dir = path.join(tmp, 'src');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'app.txt');
  fs.writeFileSync(file, 'v1');
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  const h = startCli(['--watch', dir, '-l', '127.0.0.1:0', '--', ...child('serve')]);
  try {
    await h.waitFor(/is ready after/);
    // Changes under node_modules are ignored.
    fs.writeFileSync(path.join(dir, 'node_modules', 'x.js'), 'ignored');
    fs.writeFileSync(file, 'v2');
    await h.waitFor(/is ready after/, { count: 2 });
    const because = h.stderr.filter((l) => /restarting because/.test(l));
    assert.equal(because.length, 1, because.join('\n'));
    assert.match(because[0], /restarting because .*app\.txt changed/);
    assert.equal((await get(h.ports()[0])).startsWith('pid '), true);
  } finally {
    await h.stop();
  }
});

test('--watch on a file, and waiting after a crash until it changes', async () => {
  const file = path.join(tmp, 'config.json');
  fs.writeFileSync(file, '{}');
  const h = startCli(['-w', file, '-l', '127.0.0.1:0', '--', ...child('serve', '--crash-after', '200', '--crash-code', '2')]);
  try {
    await h.waitFor(/waiting for a change \(or SIGHUP\) to start it again/);
    assert.equal(h.pids().length, 1);
    // Replace the file by rename, as editors do.
    fs.writeFileSync(`${file}.tmp`, '{"v":2}');
    fs.renameSync(`${file}.tmp`, file);
    await h.waitFor(/started pid/, { count: 2 });
    assert.match(h.stderr.join('\n'), /restarting because .*config\.json changed/);
  } finally {
    await h.stop();
  }
});

test('fd store (--fdstore): an fd the child stores with FDSTORE=1 comes back to the next child, named', async () => {
  const h = startCli(['--fdstore', '4', '-l', 'web=127.0.0.1:0', '--', ...child('fdstore')]);
  try {
    await h.waitFor(/is ready after/);
    const stored = await h.waitJson((j) => j.stored);
    await h.waitFor(/stored tcp 127\.0\.0\.1:\d+ as extra \(1 of 4\)/);
    h.proc.kill('SIGHUP');
    await h.waitFor(/is ready after/, { count: 2 });
    const second = h.json.filter((j) => j.fds)[1];
    assert.equal(second.env.LISTEN_FDS, '2');
    assert.equal(second.env.LISTEN_FDNAMES, 'web:extra');
    assert.equal(second.fds[1].fd, 4);
    assert.equal(second.fds[1].desc.port, stored.stored);
    assert.equal(second.fds[1].desc.listening, true);
    // The stored socket is the same one: it still accepts (served by the
    // second child, which serves every inherited stream socket).
    assert.match(await get(stored.stored), /^pid \d+\n$/);
  } finally {
    await h.stop();
  }
});

test('without --fdstore, stored fds are closed and the next child gets only the sockets', async () => {
  const h = startCli(['-l', '127.0.0.1:0', '--', ...child('fdstore')]);
  try {
    await h.waitFor(/sent 1 fd\(s\) with FDSTORE=1: closed \(no fd store; see --fdstore\)/);
    await h.waitFor(/is ready after/);
    const stored = await h.waitJson((j) => j.stored);
    h.proc.kill('SIGHUP');
    await h.waitFor(/is ready after/, { count: 2 });
    assert.equal(h.json.filter((j) => j.fds)[1].env.LISTEN_FDS, '1');
    assert.equal(await get(stored.stored), 'error ECONNREFUSED');
  } finally {
    await h.stop();
  }
});

test('examples/http/app.js under sd-activate: adopts the socket, READY relayed, restarts and drains on SIGTERM', async () => {
  const port = freePort();
  const app = path.join(__dirname, '..', 'examples', 'http', 'app.js');
  const h = startCli(['-l', `127.0.0.1:${port}`, '--', process.execPath, app], { env: { PORT: String(port), HOST: '127.0.0.1' } });
  try {
    await h.waitFor(/pid \d+ is ready after \d+ ms; status: serving 127\.0\.0\.1:\d+ \(inherited socket\)/);
    const [first] = h.pids();
    assert.equal(await get(port), `hello from pid ${first}\n`);
    h.proc.kill('SIGHUP');
    await h.waitFor(/is ready after/, { count: 2 });
    const second = h.pids()[1];
    assert.ok(h.stderr.includes(`sd-activate: pid ${first} exited with code 0`));
    assert.equal(await get(port), `hello from pid ${second}\n`);
    const r = await h.stop();
    assert.equal(r.code, 0);
    assert.match(r.stderr, new RegExp(`pid ${second} is stopping; status: draining after 1 requests`));
  } finally {
    await h.stop();
  }
});

test('--pid-file: the pid to send SIGHUP to is in the file while the command runs, gone after; a link there is refused', async () => {
  const file = path.join(tmp, 'cli.pid');
  const h = startCli(['--pid-file', file, '-l', '127.0.0.1:0', '--', ...child('serve')]);
  try {
    await h.waitFor(/is ready after/);
    assert.equal(fs.readFileSync(file, 'utf8'), `${h.proc.pid}\n`, 'the command\'s own pid');
    process.kill(Number(fs.readFileSync(file, 'utf8')), 'SIGHUP');
    await h.waitFor(/is ready after/, { count: 2 });
    assert.equal(h.pids().length, 2, 'SIGHUP to that pid restarted the app');
  } finally {
    assert.equal((await h.stop()).code, 0);
  }
  assert.equal(fs.existsSync(file), false, 'removed at exit');
  const link = path.join(tmp, 'link.pid');
  const victim = path.join(tmp, 'victim');
  fs.writeFileSync(victim, 'keep');
  fs.symlinkSync(victim, link);
  const bad = startCli(['--pid-file', link, '-l', '127.0.0.1:0', '--', ...child('serve')]);
  const r = await bad.done;
  assert.equal(r.code, 1);
  assert.ok(bad.stderr.some((l) => /cannot write the pid file .*link\.pid/.test(l)), bad.stderr.join('\n'));
  assert.equal(fs.readFileSync(victim, 'utf8'), 'keep', 'a symbolic link is not followed');
});
