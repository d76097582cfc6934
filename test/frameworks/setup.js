#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Install and build the framework fixture, doing only what is out of date:
//
//   1. `npm ci` here when node_modules is missing or older than package-lock.json
//   2. each app that has a build (next, nitro, sveltekit, astro): built when its
//      output is missing or older than its sources or package-lock.json
//
// One line per step with the seconds it took. A build that fails is recorded
// (its output is in .logs/<name>.log) and the others go on. .status.json
// gets, for every app, { ok: true, version } or { ok: false, reason }.
//
//   node test/frameworks/setup.js      exits 0 when every app is ready
//   require('./test/frameworks/setup').setup()   a promise of the status object
//
// Two setups at once wait for each other (a lock directory, .setup.lock).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { DEFS, ROOT, TELEMETRY_OFF, names, appVersion } = require('./apps');

const LOCKFILE = path.join(ROOT, 'package-lock.json');
const INSTALLED = path.join(ROOT, 'node_modules', '.package-lock.json'); // npm writes it last
const LOGS = path.join(ROOT, '.logs');
const STATUS = path.join(ROOT, '.status.json');
const LOCK = path.join(ROOT, '.setup.lock');
const BUILD_TIMEOUT_MS = 10 * 60 * 1000;

function say(line) {
  process.stdout.write(`[frameworks] ${line}\n`);
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Newest mtime under dir, not looking into node_modules or the skipped names. */
function newest(dir, skip) {
  let t = mtime(dir);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || skip.has(e.name)) continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p, skip) : mtime(p));
  }
  return t;
}

/** The environment for npm and the builds: telemetry off, no inherited NODE_ENV. */
function buildEnv() {
  const env = { ...process.env, ...TELEMETRY_OFF, npm_config_update_notifier: 'false' };
  delete env.NODE_ENV;
  return env;
}

/**
 * Run a command, its output into a log file. Resolves { code, tail }: the exit
 * status (or the signal's name) and the log's last lines.
 */
function run(cmd, args, { cwd, log }) {
  return new Promise((resolve) => {
    fs.mkdirSync(LOGS, { recursive: true });
    const out = fs.openSync(log, 'w');
    const child = spawn(cmd, args, { cwd, env: buildEnv(), stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    const done = (code) => {
      clearTimeout(timer);
      let text = '';
      try {
        text = fs.readFileSync(log, 'utf8');
      } catch { /* no log */ }
      resolve({ code, tail: gist(text) });
    };
    child.on('error', (err) => done(err.code || err.message));
    child.on('close', (code, signal) => done(signal ? (signal === 'SIGKILL' ? 'timed out' : signal) : code));
  });
}

/**
 * What a failed command's output says: its first distinct lines that mention
 * an error (no stack frames), else its last lines.
 */
function gist(text) {
  const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trimEnd());
  const errors = [...new Set(lines.filter((l) => /error|failed|cannot|not found/i.test(l) && !/^\s+at /.test(l)).map((l) => l.trim()))];
  return (errors.length ? errors.slice(0, 5) : lines.filter(Boolean).slice(-15)).join('\n');
}

const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Take the lock directory, waiting while a live setup holds it. */
async function lock() {
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    } catch { /* being written, or left without a pid */ }
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
      fs.rmSync(LOCK, { recursive: true, force: true }); // left by a setup that died
      continue;
    }
    if (Number.isNaN(holder) && Date.now() - mtime(LOCK) > 10000) {
      fs.rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (!told) say(`waiting for another setup (pid ${holder})`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function unlock() {
  fs.rmSync(LOCK, { recursive: true, force: true });
}

async function install() {
  if (mtime(INSTALLED) >= mtime(LOCKFILE) && mtime(LOCKFILE) >= 0) {
    say('npm ci: up to date (0.0 s)');
    return null;
  }
  const t0 = Date.now();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = await run(npm, ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, log: path.join(LOGS, 'npm-ci.log') });
  if (r.code !== 0) {
    say(`npm ci: FAILED (${r.code}) after ${secs(t0)}, see .logs/npm-ci.log`);
    return `npm ci failed (${r.code}): ${r.tail}`;
  }
  say(`npm ci: ${secs(t0)}`);
  return null;
}

/** Build one app when its output is out of date. Resolves null or the failure reason. */
async function build(name) {
  const def = DEFS[name];
  const dir = path.join(ROOT, def.dir);
  const output = path.join(dir, def.output);
  const skip = new Set(def.clean);
  const sources = Math.max(newest(dir, skip), mtime(LOCKFILE));
  if (mtime(output) >= sources) {
    say(`${name}: build up to date (0.0 s)`);
    return null;
  }
  const t0 = Date.now();
  for (const c of def.clean) fs.rmSync(path.join(dir, c), { recursive: true, force: true });
  const log = path.join(LOGS, `${name}.log`);
  let r;
  try {
    r = await run(process.execPath, def.build(), { cwd: dir, log });
  } catch (err) {
    r = { code: err.message, tail: '' };
  }
  if (r.code === 0 && mtime(output) >= 0) {
    say(`${name}: build ${secs(t0)}`);
    return null;
  }
  const why = r.code === 0 ? `the build exited 0 but left no ${def.output}` : `the build failed (${r.code})`;
  say(`${name}: build FAILED after ${secs(t0)}: ${why}, see .logs/${name}.log`);
  // A half-written output must not pass for a build next time.
  for (const c of def.clean) fs.rmSync(path.join(dir, c), { recursive: true, force: true });
  return `${why}: ${r.tail}`;
}

/** An app without a build is ready when its framework is installed. */
function checkInstalled(name) {
  const def = DEFS[name];
  if (def.pkg !== null && appVersion(name) === null) return `${def.pkg} is not installed`;
  if (!fs.existsSync(path.join(ROOT, def.file))) return `${def.file} is missing`;
  return null;
}

async function setup() {
  const t0 = Date.now();
  await lock();
  const status = {};
  try {
    const installFailure = await install();
    for (const name of names) {
      let reason;
      if (installFailure) reason = installFailure;
      else if (DEFS[name].build) reason = await build(name);
      else reason = checkInstalled(name);
      status[name] = reason ? { ok: false, reason } : { ok: true, version: appVersion(name) };
    }
    fs.writeFileSync(STATUS, `${JSON.stringify(status, null, 2)}\n`);
  } finally {
    unlock();
  }
  const failed = names.filter((n) => !status[n].ok);
  say(`ready in ${secs(t0)}${failed.length ? `, FAILED: ${failed.join(', ')}` : ''}`);
  return status;
}

module.exports = { setup, apps: names };

if (require.main === module) {
  setup().then((status) => {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    process.exitCode = Object.values(status).every((s) => s.ok) ? 0 : 1;
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
