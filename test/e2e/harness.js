// SPDX-License-Identifier: MIT
'use strict';
// Helpers for driving the real `systemd --user` manager that with-manager.sh
// boots: unit installation (with @APPDIR@-style substitution), systemctl,
// `systemctl show`, the journal, polling, HTTP/UDP probes, and a TAP-like
// sequential check runner. Only meaningful inside that namespace.
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const dgram = require('node:dgram');

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');
const UNIT_DIR = '/run/user/0/systemd/user';

function inManager() {
  return process.env.XDG_RUNTIME_DIR === '/run/user/0' && fs.existsSync('/run/user/0/systemd/private');
}

/** The substitutions applied to every installed unit file (see examples/README.md). */
function substitutions() {
  const subs = { '@APPDIR@': EXAMPLES, '@ROOT@': ROOT };
  if (process.execPath !== '/usr/bin/node' && !fs.existsSync('/usr/bin/node')) subs['/usr/bin/node'] = process.execPath;
  return subs;
}

function substitute(text, extra = {}) {
  for (const [k, v] of Object.entries({ ...substitutions(), ...extra })) text = text.split(k).join(v);
  return text;
}

function run(cmd, args, { timeout = 30000, allowFail = false, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      if (err && !allowFail) {
        const e = new Error(`${cmd} ${args.join(' ')} failed (${err.killed ? 'timed out' : `exit ${err.code}`}): ${stderr.trim() || stdout.trim()}`);
        e.stdout = stdout; e.stderr = stderr; e.code = code;
        reject(e);
      } else resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

const systemctl = (...args) => run('systemctl', ['--user', '--no-pager', ...args]).then((r) => r.stdout);
const systemctlTry = (...args) => run('systemctl', ['--user', '--no-pager', ...args], { allowFail: true });

/**
 * Install unit files: each entry is a path (relative to examples/ or absolute)
 * or { name, text } / { name, from } for a unit with another name. Returns
 * the unit names. Runs daemon-reload.
 */
async function install(entries, extra = {}) {
  fs.mkdirSync(UNIT_DIR, { recursive: true });
  const names = [];
  for (const e of entries) {
    let name, text;
    if (typeof e === 'string') {
      const file = path.isAbsolute(e) ? e : path.join(EXAMPLES, e);
      name = path.basename(file);
      text = fs.readFileSync(file, 'utf8');
    } else {
      name = e.name;
      text = e.text !== undefined ? e.text : fs.readFileSync(path.isAbsolute(e.from) ? e.from : path.join(EXAMPLES, e.from), 'utf8');
    }
    const dest = path.join(UNIT_DIR, name);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, substitute(text, extra));
    names.push(name);
  }
  await systemctl('daemon-reload');
  return names;
}

/** `systemctl show -p ...` as an object. */
async function show(unit, props) {
  const out = await systemctl('show', unit, ...props.map((p) => `-p${p}`));
  const o = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

/** Stop units and reset their failed state; never throws. */
async function stopAll(units) {
  if (units.length === 0) return;
  await systemctlTry('stop', ...units);
  await systemctlTry('reset-failed', ...units);
}

/**
 * Journal entries, as parsed JSON objects: of a unit (`unit`: the user
 * manager's messages about it, USER_UNIT=, and output journald attributes to
 * it, _SYSTEMD_UNIT=) or of a process (`pid`: _PID=, the reliable way to get
 * an app's own output: with the manager at debug level, journald may
 * attribute a fresh process to the manager's cgroup for a few seconds).
 * `after`: a cursor from cursor(); entries after it only.
 */
async function journal(target, { after, grep } = {}) {
  const t = typeof target === 'string' ? { unit: target } : target;
  const args = ['--no-pager', '-o', 'json'];
  if (t.unit) args.push(`USER_UNIT=${t.unit}`, '+', `_SYSTEMD_UNIT=${t.unit}`);
  if (t.unit && t.pid) args.push('+');
  if (t.pid) args.push(`_PID=${t.pid}`);
  // --cursor, not --after-cursor: with matches, journalctl 252's --after-cursor
  // skips the first matching entry when the cursor's own entry does not match.
  if (after) args.push(`--cursor=${after}`);
  const { stdout } = await run('journalctl', args, { allowFail: true });
  let entries = stdout.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((e) => e && e.__CURSOR !== after);
  for (const e of entries) if (Array.isArray(e.MESSAGE)) e.MESSAGE = Buffer.from(e.MESSAGE).toString('utf8');
  if (grep) entries = entries.filter((e) => grep.test(String(e.MESSAGE)));
  return entries;
}

/** The journal's current end, to read only what comes later. */
async function cursor() {
  const { stdout } = await run('journalctl', ['--no-pager', '-n', '0', '--show-cursor'], { allowFail: true });
  const m = /-- cursor: (.*)/.exec(stdout);
  return m ? m[1].trim() : undefined;
}

const { setTimeout: sleep } = require('node:timers/promises');

/** Poll fn until it returns a truthy value; throws `what` on timeout with the last value. */
async function waitFor(what, fn, { timeout = 15000, interval = 100 } = {}) {
  const end = Date.now() + timeout;
  let last, lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { lastErr = e; }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` +
        (lastErr ? ` (last error: ${lastErr.message})` : ` (last value: ${JSON.stringify(last)})`));
    }
    await sleep(interval);
  }
}

/** One HTTP GET over a fresh connection; resolves { status, body, json } or rejects with the socket error. */
function get(target, urlPath = '/', { timeout = 5000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const opts = typeof target === 'string' ? { socketPath: target } : { host, port: target };
    const req = http.request({ ...opts, path: urlPath, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(body); } catch { /* not json */ }
        resolve({ status: res.statusCode, body, json, headers: res.headers });
      });
    });
    req.setTimeout(timeout, () => req.destroy(Object.assign(new Error(`no response within ${timeout} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** One UDP datagram; resolves the reply text or rejects on timeout. */
function udpAsk(port, text, { timeout = 5000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => { s.close(); reject(new Error(`no UDP reply within ${timeout} ms`)); }, timeout);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.toString('utf8')); });
    s.on('error', (e) => { clearTimeout(t); s.close(); reject(e); });
    s.send(text, port, host);
  });
}

/** The socket inode behind an fd of a process, from /proc (e.g. 'socket:[1234]'). */
function fdTarget(pid, fd) {
  try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return null; }
}

/**
 * Listening sockets on a port from `ss -lnpe`: [{ local, ino, users: [{ name, pid, fd }] }].
 * proto 't' (TCP) or 'u' (UDP).
 */
async function listeners(port, proto = 't') {
  const { stdout } = await run('ss', ['-H', `-ln${proto}pe`, `sport = :${port}`], { allowFail: true });
  return stdout.split('\n').filter(Boolean).map((line) => {
    const cols = line.trim().split(/\s+/);
    const ino = /ino:(\d+)/.exec(line);
    const users = [...line.matchAll(/\("([^"]+)",pid=(\d+),fd=(\d+)\)/g)].map((m) => ({ name: m[1], pid: Number(m[2]), fd: Number(m[3]) }));
    return { local: cols[3], ino: ino ? Number(ino[1]) : null, users };
  });
}

/** The pid of the `systemd --user` manager (written by manager.sh). */
function managerPid() {
  return Number(fs.readFileSync('/run/manager.pid', 'utf8'));
}

function fdCount(pid) {
  try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return -1; }
}

// ---------------------------------------------------------------- TAP runner
class Runner {
  constructor({ only = process.env.SD_E2E_ONLY, deadlineMs = 270000 } = {}) {
    this.checks = [];
    this.only = only ? new RegExp(only, 'i') : null;
    this.deadline = Date.now() + deadlineMs;
    this.n = 0;
    this.failed = 0;
    this.skipped = 0;
    this.started = Date.now();
  }

  /** Register a group: a setup/teardown pair around several checks. */
  group(name, fn) { this.checks.push({ group: name, fn }); }

  async runAll() {
    for (const g of this.checks) {
      // The manager group sets up what every other group relies on (backend, log level).
      if (this.only && !this.only.test(g.group) && g.group !== 'manager') continue;
      const ctx = new GroupContext(this, g.group);
      try {
        await g.fn(ctx);
      } catch (e) {
        ctx.fail(`${g.group}: group aborted`, e);
      } finally {
        for (const fn of ctx.cleanups.reverse()) {
          try { await fn(); } catch (e) { console.log(`# cleanup in ${g.group} failed: ${e.message}`); }
        }
      }
    }
    console.log(`1..${this.n}`);
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    console.log(`# ${this.n - this.failed - this.skipped} passed, ${this.failed} failed, ${this.skipped} skipped, ${secs}s`);
    return this.failed === 0 ? 0 : 1;
  }
}

class GroupContext {
  constructor(runner, name) {
    this.runner = runner;
    this.name = name;
    this.cleanups = [];
    this.units = [];
  }

  /** Install units (see install()) and remember them for failure diagnostics. */
  async install(entries, extra) {
    const names = await install(entries, extra);
    this.units.push(...names.filter((n) => !n.includes('/')));
    return names;
  }

  /** On a failure: the last journal lines of this group's units. */
  async diagnose() {
    if (this.units.length === 0) return;
    const args = ['--no-pager', '-o', 'short-monotonic', '-n', '300'];
    this.units.forEach((u, i) => { if (i) args.push('+'); args.push(`_SYSTEMD_UNIT=${u}`, '+', `USER_UNIT=${u}`); });
    const { stdout } = await run('journalctl', args, { allowFail: true });
    const lines = stdout.split('\n').filter((l) => l && !/Got notification message|WATCHDOG=1/.test(l)).slice(-15);
    for (const l of lines) console.log(`  # journal: ${l}`);
  }

  onCleanup(fn) { this.cleanups.push(fn); }

  fail(desc, err) {
    const r = this.runner;
    r.n++; r.failed++;
    console.log(`not ok ${r.n} - ${desc}`);
    for (const line of String(err && err.stack ? err.stack : err).split('\n').slice(0, 12)) console.log(`  # ${line}`);
  }

  /** Run one check: ok when fn resolves, not ok with the error when it throws. */
  async check(desc, fn, { timeout = 60000 } = {}) {
    const r = this.runner;
    const full = `${this.name}: ${desc}`;
    if (Date.now() > r.deadline) {
      // A check that did not run is not a pass.
      this.fail(full, new Error('not run: the suite deadline was reached (a slow machine? SD_E2E_TIMEOUT)'));
      return undefined;
    }
    const t0 = Date.now();
    let timer;
    try {
      const value = await Promise.race([
        Promise.resolve().then(fn),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`check timed out after ${timeout} ms`)), timeout); }),
      ]);
      r.n++;
      const info = typeof value === 'string' && value ? ` (${value})` : '';
      console.log(`ok ${r.n} - ${full}${info} # ${Date.now() - t0} ms`);
      return value;
    } catch (e) {
      this.fail(full, e);
      await this.diagnose().catch(() => {});
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  skip(desc, reason) {
    const r = this.runner;
    r.n++; r.skipped++;
    console.log(`ok ${r.n} - ${this.name}: ${desc} # SKIP ${reason}`);
  }

  note(line) { console.log(`# ${line}`); }
}

module.exports = {
  ROOT, EXAMPLES, UNIT_DIR, inManager, substitute, substitutions, run, systemctl, systemctlTry,
  install, show, stopAll, journal, cursor, sleep, waitFor, get, udpAsk,
  fdTarget, fdCount, listeners, managerPid, Runner,
};
