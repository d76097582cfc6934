'use strict';
// A bounded loopback HTTP load: opens `rate` new connections per second, one
// `GET` each with `Connection: close`, never more than `maxInFlight` at once,
// and counts what happened to every one of them:
//   ok        a 2xx response read to the end
//   refused   ECONNREFUSED on connect (nothing listening: a restart gap)
//   failed    anything else: reset, timeout, a non-2xx status, a closed
//             connection without a complete response
//   throttled not sent because maxInFlight were already open (not a failure,
//             reported so an overloaded run is visible)
// Usable as a module (runLoad) or from the command line:
//   node test/e2e/load.js --port 8080 --rate 500 --seconds 5
const net = require('node:net');

function request({ port, host, socketPath, path, timeout }) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const sock = socketPath ? net.connect(socketPath) : net.connect({ port, host });
    let buf = '';
    let done = false;
    const finish = (kind, detail) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ kind, detail, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    };
    const timer = setTimeout(() => finish('failed', 'ETIMEDOUT'), timeout);
    sock.setEncoding('latin1');
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host || 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    sock.on('data', (c) => { buf += c; });
    sock.on('end', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (!m) finish('failed', buf.length ? 'EBADRESPONSE' : 'EEMPTY');
      else if (m[1][0] !== '2') finish('failed', `HTTP${m[1]}`);
      else finish('ok');
    });
    sock.on('error', (e) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'failed', e.code || e.message));
    sock.on('close', () => finish('failed', 'ECLOSED'));
  });
}

/**
 * Run the load until `until` settles (or `durationMs` passes), then wait for
 * the requests in flight. Resolves the counts, latency figures and a map of
 * failure details.
 */
async function runLoad({ port, host = '127.0.0.1', socketPath, path = '/', rate = 500, durationMs, until,
  maxInFlight = 256, timeout = 10000 } = {}) {
  const stats = { sent: 0, ok: 0, refused: 0, failed: 0, throttled: 0, worstMs: 0, details: {} };
  const lat = [];
  const pending = new Set();
  let stop = false;
  if (until) Promise.resolve(until).finally(() => { stop = true; });
  const t0 = Date.now();
  let due = 0;
  await new Promise((resolve) => {
    const tick = () => {
      if (stop || (durationMs !== undefined && Date.now() - t0 >= durationMs)) {
        clearInterval(iv);
        resolve();
        return;
      }
      const target = Math.floor(((Date.now() - t0) / 1000) * rate);
      while (due < target) {
        due++;
        if (pending.size >= maxInFlight) { stats.throttled++; continue; }
        stats.sent++;
        const p = request({ port, host, socketPath, path, timeout }).then((r) => {
          pending.delete(p);
          stats[r.kind]++;
          if (r.kind !== 'ok') stats.details[r.detail] = (stats.details[r.detail] || 0) + 1;
          if (r.kind !== 'refused') {
            lat.push(r.ms);
            if (r.ms > stats.worstMs) stats.worstMs = r.ms;
          }
        });
        pending.add(p);
      }
    };
    const iv = setInterval(tick, 5);
  });
  await Promise.all([...pending]);
  stats.seconds = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  stats.p50Ms = lat.length ? lat[Math.floor(lat.length * 0.5)] : 0;
  stats.p99Ms = lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] : 0;
  return stats;
}

function format(s) {
  const d = Object.entries(s.details).map(([k, v]) => `${k}=${v}`).join(' ');
  return `sent ${s.sent} ok ${s.ok} refused ${s.refused} failed ${s.failed} throttled ${s.throttled}` +
    ` worst ${s.worstMs.toFixed(1)} ms p99 ${s.p99Ms.toFixed(1)} ms${d ? ` [${d}]` : ''}`;
}

module.exports = { runLoad, request, format };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def; };
  runLoad({
    port: Number(opt('port', 8080)),
    host: opt('host', '127.0.0.1'),
    socketPath: opt('unix', undefined),
    path: opt('path', '/'),
    rate: Number(opt('rate', 500)),
    durationMs: Number(opt('seconds', 5)) * 1000,
  }).then((s) => console.log(format(s)));
}
