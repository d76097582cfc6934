// SPDX-License-Identifier: MIT
'use strict';
// The lifecycle helper in real children with real signals: READY=1 only after
// every server listens (and beforeReady), RELOADING=1 + MONOTONIC_USEC then
// READY=1 around the reload hook on SIGHUP (and a failed reload reported),
// STOPPING=1 then a graceful close on SIGTERM (in-flight request finished,
// idle keep-alive connection closed, onStop, exit 0); handlers only when asked.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startReceiver } = require('./helpers/receiver');
const { openSocket, runChild, startChild } = require('./helpers/child');
const native = require('./helpers/native');

function lines(child) {
  const seen = [];
  const waiters = [];
  let buf = '';
  child.proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const o = JSON.parse(line);
      seen.push(o);
      for (const w of waiters.slice()) if (w.pred(o)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(o); }
    }
  });
  return {
    seen,
    next(pred) {
      const have = seen.find(pred);
      if (have) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        child.done.then((r) => reject(new Error(`child ended: ${r.stdout} ${r.stderr}`)));
      });
    },
  };
}

function get(port, urlPath, agent) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

test('lifecycle: READY after listen, RELOADING/READY around the reload hook, STOPPING and a graceful close', async () => {
  const receiver = await startReceiver();
  const agent = new http.Agent({ keepAlive: true });
  try {
    const child = startChild({ script: 'lifecycle-app.js', env: { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: '1000000' } });
    const out = lines(child);
    const handlers = await out.next((o) => o.event === 'handlers');
    assert.deepEqual(handlers, { event: 'handlers', SIGTERM: 1, SIGHUP: 1, state: 'starting' });
    const ready = await out.next((o) => o.event === 'ready');
    assert.equal(ready.sent, true);
    assert.equal(ready.state, 'ready');
    assert.equal(ready.watchdog, true, 'the watchdog runs once ready (WATCHDOG_USEC set)');
    const pid = ready.pid;
    const seq = () => receiver.messages.filter((m) => m.pid === pid && m.text !== 'WATCHDOG=1').map((m) => m.text);
    const from = (pred) => receiver.next((m) => m.pid === pid && pred(m.text));

    await from((t) => t === 'READY=1\nSTATUS=serving');
    assert.deepEqual(seq(), ['STATUS=before-listen', 'STATUS=warming', 'READY=1\nSTATUS=serving'],
      'READY=1 only once the servers listen and beforeReady is done');

    child.proc.kill('SIGHUP');
    await from((t) => t === 'READY=1');
    const reload = seq().slice(3);
    assert.equal(reload.length, 3, JSON.stringify(reload));
    assert.match(reload[0], /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    assert.deepEqual(reload.slice(1), ['STATUS=reload-hook 1', 'READY=1']);

    child.proc.kill('SIGHUP');
    await from((t) => t.startsWith('READY=1\nSTATUS=Reload failed'));
    const failed = seq().slice(6);
    assert.match(failed[0], /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    assert.deepEqual(failed.slice(1), ['STATUS=reload-hook 2', 'READY=1\nSTATUS=Reload failed: bad config']);
    const warning = await out.next((o) => o.event === 'warning');
    assert.equal(warning.code, 'SD_ACTIVATE_RELOAD_FAILED');

    // An idle keep-alive connection and an in-flight request when SIGTERM comes.
    assert.deepEqual(await get(ready.port, '/', agent), { status: 200, body: 'ok' });
    const slow = get(ready.port, '/slow', false);
    await from((t) => t === 'STATUS=slow-start');
    child.proc.kill('SIGTERM');
    assert.deepEqual(await slow, { status: 200, body: 'ok' }, 'the in-flight request completed');
    const done = await child.done;
    assert.equal(done.signal, null, 'exited by itself (idle keep-alive connection closed), not killed');
    assert.equal(done.code, 0, done.stderr);
    await from((t) => t === 'STATUS=on-stop');
    assert.deepEqual(seq().slice(9), ['STATUS=slow-start', 'STOPPING=1', 'STATUS=slow-done', 'STATUS=on-stop']);
    assert.ok(receiver.messages.some((m) => m.pid === pid && m.text === 'WATCHDOG=1'), 'watchdog pinged');
  } finally {
    agent.destroy();
    await receiver.close();
  }
});

test('lifecycle installs signal handlers only when used, and dispose() removes them', async () => {
  const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify([
    "[process.listenerCount('SIGTERM'), process.listenerCount('SIGHUP')]",
    "(ctx.a = sd.lifecycle({ watchdog: false }), [process.listenerCount('SIGTERM'), process.listenerCount('SIGHUP')])",
    "(ctx.b = sd.lifecycle({ stopSignals: [], onReload: () => {}, reloadSignal: null }), [process.listenerCount('SIGTERM'), process.listenerCount('SIGHUP')])",
    "(ctx.c = sd.lifecycle({ stopSignals: ['SIGINT'], onReload: () => {} }), [process.listenerCount('SIGINT'), process.listenerCount('SIGHUP')])",
    'ctx.a.ready',
    "(ctx.a.dispose(), ctx.b.dispose(), ctx.c.dispose(), ['SIGTERM', 'SIGHUP', 'SIGINT'].map((s) => process.listenerCount(s)))",
  ])] });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.results.map((x) => x.ok), [[0, 0], [1, 0], [1, 0], [1, 1], false, [0, 0, 0]]);
});

test('lifecycle with exit: false stops (STOPPING=1, servers closed, handlers removed) and leaves the process running', async () => {
  const receiver = await startReceiver({ kind: 'abstract' });
  try {
    const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify([
      "new Promise((res) => { ctx.s = net.createServer().listen(0, '127.0.0.1', () => res(0)); })",
      '(ctx.l = sd.lifecycle({ servers: [ctx.s], exit: false, watchdog: false }), ctx.l.ready)',
      'ctx.l.stop().then(() => [ctx.l.state, ctx.s.listening, process.listenerCount(\'SIGTERM\')])',
      'ctx.l.reload().then(() => ctx.l.state)',
      "sd.status('still-running')",
    ])], env: { NOTIFY_SOCKET: receiver.address } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.results.map((x) => x.ok), [0, true, ['stopped', false, 0], 'stopped', true]);
    await receiver.next((m) => m.pid === r.json.pid && m.text === 'STATUS=still-running');
    assert.deepEqual(receiver.messages.filter((m) => m.pid === r.json.pid).map((m) => m.text),
      ['READY=1', 'STOPPING=1', 'STATUS=still-running'], 'no reload once stopped');
  } finally {
    await receiver.close();
  }
});

test('lifecycle: bad options throw at the call; a malformed WATCHDOG_USEC is a warning, READY=1 still goes out', async () => {
  const receiver = await startReceiver();
  try {
    const r = await runChild({ script: 'notify-eval.js', args: [JSON.stringify([
      'sd.lifecycle({ watchdog: { fraction: 2 } })',
      "sd.lifecycle({ status: 'two\\nlines' })",
      'sd.lifecycle({ servers: [{}] })',
      'sd.lifecycle({ stopTimeoutMs: -1 })',
      '(ctx.l = sd.lifecycle({ stopSignals: [] }), ctx.l.ready)',
      "sleep(10).then(() => ctx.l.watchdog.running === false && ctx.l.watchdog.lastSkip.reason === 'unsupported')",
    ])], env: { NOTIFY_SOCKET: receiver.address, WATCHDOG_USEC: 'bogus' } });
    assert.equal(r.code, 0, r.stderr);
    const res = r.json.results;
    for (const x of res.slice(0, 4)) assert.equal(x.error?.code, 'ERR_SD_INVALID_ARGUMENT', JSON.stringify(x));
    assert.deepEqual(res.slice(4), [{ ok: true }, { ok: true }]);
    // The watchdog does not throw for its environment: it warns and stays idle.
    assert.deepEqual(r.json.warnings.map((w) => w.code), ['SD_ACTIVATE_WATCHDOG_MALFORMED_ENV']);
    await receiver.next((m) => m.pid === r.json.pid && m.text === 'READY=1');
  } finally {
    await receiver.close();
  }
});

test('lifecycle() given a listen promise: an address the manager holds exits with status 78 (EX_CONFIG), saying why', async () => {
  const held = openSocket('tcp', '0.0.0.0', 0);
  try {
    const r = await runChild({ script: 'config-error-app.js', args: [JSON.stringify({ web: { port: held.port, bind: '127.0.0.1' } })],
      fds: [held.fd], keep: true });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, new RegExp(`^sd-activate: listen failed: listener "web" cannot bind 127\\.0\\.0\\.1:${held.port} .*\\(exiting with status 78\\)$`, 'm'));
    assert.doesNotMatch(r.stdout, /ready/);
  } finally {
    native.close(held.fd);
  }
  // The same app with a unit that agrees is served and ready.
  const ok = openSocket('tcp', '127.0.0.1', 0);
  const child = startChild({ script: 'config-error-app.js', args: [JSON.stringify({ web: { port: ok.port, bind: '127.0.0.1' } })], fds: [ok.fd] });
  const ready = await new Promise((resolve) => child.proc.stdout.once('data', (d) => resolve(String(d))));
  assert.match(ready, /"ready":true/);
  const body = await new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port: ok.port, path: '/' }, (res) => {
    let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b));
  }).on('error', reject));
  assert.equal(body, 'web');
  child.proc.kill('SIGTERM');
  assert.equal((await child.done).code, 0);
});

