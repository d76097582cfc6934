#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// A bounded loopback HTTP load generator: a fixed number of new connections
// per second (one GET each, `Connection: close`), never more than `maxInFlight`
// at once, and an honest count of what happened to every one:
//
//   sent     connections started
//   served   complete responses with status 200
//   refused  connect() failed with ECONNREFUSED (nobody listening: the gap
//            a restart leaves when the app binds its own socket)
//   failed   anything else: reset, timeout, closed before a full response,
//            another status, another error (counted by code in `errors`)
//   skipped  ticks not sent because maxInFlight were still open (the bound)
//   worstMs  the slowest served request (connect to last byte), p50Ms, p99Ms
//
// As a module:
//   const { startLoad, runLoad } = require('./scripts/load.js');
//   const load = startLoad({ port: 8080, rate: 400 });   // starts at once
//   load.stats();                 // a snapshot, any time
//   const final = await load.stop();   // stop sending, wait for in-flight ones
//   const s = await runLoad({ port: 8080, rate: 400, durationMs: 3000 });
// Target: { host = '127.0.0.1', port } or { socketPath } (a unix socket).
//
// From a shell:
//   node scripts/load.js --port 8080 [--host 127.0.0.1 | --unix PATH]
//        [--rate 400] [--duration 5] [--timeout 5000] [--max-in-flight 1000]
//        [--path /] [--json]
// prints the figures (or one JSON object) and exits 0 when nothing was
// refused or failed, 1 otherwise.
const net = require('node:net');

/**
 * One request on a new connection. Calls done(kind, ms, code) once, kind
 * 'served' | 'refused' | 'failed'.
 */
function request(target, reqPath, timeoutMs, done) {
  const t0 = process.hrtime.bigint();
  let finished = false;
  let data = '';
  const sock = target.socketPath ? net.connect(target.socketPath) : net.connect(target.port, target.host);
  const finish = (kind, code) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.destroy();
    done(kind, Number(process.hrtime.bigint() - t0) / 1e6, code);
  };
  const timer = setTimeout(() => finish('failed', 'ETIMEDOUT'), timeoutMs);
  sock.setEncoding('latin1');
  sock.on('connect', () => {
    sock.write(`GET ${reqPath} HTTP/1.1\r\nHost: load\r\nConnection: close\r\n\r\n`);
  });
  sock.on('data', (d) => { data += d; });
  sock.on('end', () => {
    const head = data.slice(0, data.indexOf('\r\n'));
    if (!/^HTTP\/1\.[01] 200 /.test(head)) return finish('failed', head === '' ? 'EMPTY_RESPONSE' : `HTTP_${head.split(' ')[1]}`);
    const split = data.indexOf('\r\n\r\n');
    const m = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, split));
    if (split < 0 || (m && Buffer.byteLength(data.slice(split + 4), 'latin1') < Number(m[1]))) {
      return finish('failed', 'TRUNCATED');
    }
    finish('served');
  });
  sock.on('error', (err) => finish(err.code === 'ECONNREFUSED' ? 'refused' : 'failed', err.code || err.message));
  sock.on('close', () => finish('failed', 'CLOSED'));
}

/** The p-th percentile of an ascending array (0 when empty). */
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The median of unsorted numbers. */
function median(values) {
  return percentile([...values].sort((x, y) => x - y), 50);
}

/** A loopback TCP port that was free a moment ago. */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = require('node:net').createServer().on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start sending `rate` new connections per second to the target.
 * options: { host = '127.0.0.1', port, socketPath, path = '/', rate = 400,
 *            timeoutMs = 5000, maxInFlight = 1000, onResult(kind, ms, code) }
 * Returns { stats(), stop(): Promise<stats> }.
 */
function startLoad(options) {
  const target = options.socketPath ? { socketPath: options.socketPath } : { host: options.host || '127.0.0.1', port: options.port };
  if (!target.socketPath && !(Number.isInteger(target.port) && target.port > 0 && target.port < 65536)) {
    throw new TypeError('startLoad: give a port (1..65535) or a socketPath');
  }
  const rate = options.rate ?? 400;
  if (!(rate > 0)) throw new TypeError('startLoad: rate must be > 0 connections per second');
  const reqPath = options.path || '/';
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxInFlight = options.maxInFlight ?? 1000;
  const s = { sent: 0, served: 0, refused: 0, failed: 0, skipped: 0, inFlight: 0, errors: {} };
  const latencies = [];
  const start = process.hrtime.bigint();
  let due = 0;
  let stopped = false;
  let settle;

  const onDone = (kind, ms, code) => {
    s.inFlight--;
    s[kind]++;
    if (kind === 'served') latencies.push(ms);
    else s.errors[code] = (s.errors[code] || 0) + 1;
    if (options.onResult) options.onResult(kind, ms, code);
    if (stopped && s.inFlight === 0 && settle) settle();
  };

  const tick = () => {
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    const target_ = Math.floor(elapsed * rate);
    while (due < target_) {
      due++;
      if (s.inFlight >= maxInFlight) {
        s.skipped++;
        continue;
      }
      s.sent++;
      s.inFlight++;
      request(target, reqPath, timeoutMs, onDone);
    }
  };
  const interval = setInterval(tick, Math.max(1, Math.min(10, Math.floor(1000 / rate))));

  const stats = () => {
    const sorted = latencies.slice().sort((a, b) => a - b);
    return {
      sent: s.sent,
      served: s.served,
      refused: s.refused,
      failed: s.failed,
      skipped: s.skipped,
      inFlight: s.inFlight,
      errors: { ...s.errors },
      worstMs: sorted.length ? Math.round(sorted[sorted.length - 1] * 10) / 10 : 0,
      p50Ms: Math.round(percentile(sorted, 50) * 10) / 10,
      p99Ms: Math.round(percentile(sorted, 99) * 10) / 10,
      seconds: Math.round(Number(process.hrtime.bigint() - start) / 1e7) / 100,
    };
  };

  const stop = () => {
    if (!stopped) {
      stopped = true;
      clearInterval(interval);
    }
    if (s.inFlight === 0) return Promise.resolve(stats());
    return new Promise((resolve) => { settle = () => resolve(stats()); });
  };

  return { stats, stop };
}

/** startLoad for `durationMs`, then stop; resolves with the final stats. */
async function runLoad(options) {
  const load = startLoad(options);
  await new Promise((r) => setTimeout(r, options.durationMs ?? 3000));
  return load.stop();
}

/** The figures as one line. */
function formatStats(st) {
  const errs = Object.entries(st.errors).map(([k, v]) => `${k} ${v}`).join(', ');
  return `sent ${st.sent}, served ${st.served}, refused ${st.refused}, failed ${st.failed}` +
    `${st.skipped ? `, skipped ${st.skipped}` : ''}; latency p50 ${st.p50Ms} ms, p99 ${st.p99Ms} ms, worst ${st.worstMs} ms` +
    `${errs ? ` (${errs})` : ''}`;
}

/**
 * The command-line options the restart drivers (scripts/demo.js,
 * bench/restart-cli.js) share: --restarts N, --rate N, --interval MS, --json.
 */
function driverOptions(defaults, argv = process.argv) {
  const number = (name, dflt) => {
    const i = argv.indexOf(name);
    return i < 0 ? dflt : Number(argv[i + 1]);
  };
  return {
    restarts: number('--restarts', defaults.restarts),
    rate: number('--rate', defaults.rate),
    interval: number('--interval', defaults.interval),
    json: argv.includes('--json'),
  };
}

module.exports = { startLoad, runLoad, formatStats, driverOptions, percentile, median, freePort };

if (require.main === module) {
  const args = process.argv.slice(2);
  const o = { rate: 400, durationMs: 5000 };
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = () => {
      if (i + 1 >= args.length) { console.error(`load: ${a} needs a value`); process.exit(2); }
      return args[++i];
    };
    if (a === '--port') o.port = Number(v());
    else if (a === '--host') o.host = v();
    else if (a === '--unix') o.socketPath = v();
    else if (a === '--rate') o.rate = Number(v());
    else if (a === '--duration') o.durationMs = Number(v()) * 1000;
    else if (a === '--timeout') o.timeoutMs = Number(v());
    else if (a === '--max-in-flight') o.maxInFlight = Number(v());
    else if (a === '--path') o.path = v();
    else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      console.log('Usage: node scripts/load.js --port N [--host ADDR | --unix PATH] [--rate CONN_PER_S] [--duration S] [--timeout MS] [--max-in-flight N] [--path P] [--json]');
      process.exit(0);
    } else { console.error(`load: unknown argument ${a}`); process.exit(2); }
  }
  runLoad(o).then((st) => {
    console.log(json ? JSON.stringify(st) : formatStats(st));
    process.exit(st.refused + st.failed === 0 ? 0 : 1);
  }, (err) => {
    console.error(`load: ${err.message}`);
    process.exit(2);
  });
}
