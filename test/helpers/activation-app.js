// SPDX-License-Identifier: MIT
'use strict';
// Test-side driver for test/fixtures/activation-app.js (and other long-running
// activation fixtures): start it with fds at 3, 4, ..., wait for its first
// JSON line, let the test probe it, then stop it with SIGTERM and collect the
// second JSON line.
const net = require('node:net');
const dgram = require('node:dgram');
const { startChild, freePort } = require('./child');

/**
 * startApp(spec, childOptions) -> Promise<{ ready, pid, stop() -> Promise<{ final, code, stderr }> }>
 * spec is passed as argv[2] (JSON) to the fixture (default activation-app.js).
 */
function startApp(spec, { script = 'activation-app.js', args, ...opts } = {}) {
  const child = startChild({ script, args: args || [JSON.stringify(spec)], timeout: 60000, ...opts });
  let buf = '';
  const lines = [];
  let wake;
  child.proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (wake) wake();
    }
  });
  const nextLine = () => new Promise((resolve, reject) => {
    const check = () => {
      if (lines.length > 0) { wake = undefined; resolve(lines.shift()); return true; }
      return false;
    };
    if (check()) return;
    wake = check;
    child.done.then((r) => { if (!check()) reject(new Error(`child exited (code ${r.code}, signal ${r.signal}) without output; stderr:\n${r.stderr}`)); });
  });
  return nextLine().then((line) => {
    const ready = JSON.parse(line);
    if (ready.fatal) {
      child.proc.kill('SIGKILL');
      throw new Error(`fixture failed: ${ready.fatal.stack || ready.fatal.message}`);
    }
    return {
      ready,
      pid: child.proc.pid,
      async stop() {
        child.proc.kill('SIGTERM');
        const r = await child.done;
        const all = r.stdout.split('\n').filter(Boolean);
        let final;
        try { final = JSON.parse(all[all.length - 1]); } catch { final = undefined; }
        return { final, code: r.code, signal: r.signal, stderr: r.stderr };
      },
    };
  });
}

/** Connect over TCP or a unix path; resolve the first line received, or reject with the error (e.g. ECONNREFUSED). */
function probe(where) {
  return new Promise((resolve, reject) => {
    const c = net.connect(where);
    let data = '';
    c.setEncoding('utf8');
    c.on('data', (d) => { data += d; });
    c.on('end', () => resolve(data.trim()));
    c.on('error', reject);
    c.setTimeout(20000, () => { c.destroy(new Error('probe timeout')); });
  });
}

/** probe() that resolves { ok, text } or { ok: false, code }. */
function tryProbe(where) {
  return probe(where).then((text) => ({ ok: true, text }), (e) => ({ ok: false, code: e.code || e.message }));
}

/** Send one UDP datagram and resolve the reply text. */
function udpAsk(port, address = '127.0.0.1', text = 'ping') {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { s.close(); reject(new Error('udp timeout')); }, 20000);
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(m.toString()); });
    s.on('error', (e) => { clearTimeout(timer); s.close(); reject(e); });
    s.send(text, port, address);
  });
}

module.exports = { startApp, probe, tryProbe, udpAsk, freePort };
