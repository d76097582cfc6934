#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Smoke check of the fixture, without any activation: each app started as
// apps.js says on a free port, GET / (and GET /slow?ms=300 where it has one)
// checked for a 200 and its text, then stopped with SIGTERM.
//
//   node test/frameworks/smoke.js [NAME...] [--host=H | --default-host] [--node-arg=FLAG]...
//
// --host (default 127.0.0.1) is given to the app; --default-host gives none
// (the app's default) and connects to 127.0.0.1. --node-arg flags go before
// the app's script (e.g. --node-arg=--require=/tmp/trace.js). Run setup.js first.
'use strict';
const { spawn } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');
const { app, names, ENV_KEYS } = require('./apps');

const args = process.argv.slice(2);
const nodeArgs = args.filter((a) => a.startsWith('--node-arg=')).map((a) => a.slice('--node-arg='.length));
const hostArg = args.find((a) => a.startsWith('--host='));
const host = args.includes('--default-host') ? undefined : hostArg ? hostArg.slice(7) : '127.0.0.1';
const connectHost = host === undefined || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
const selected = args.filter((a) => !a.startsWith('--'));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: connectHost, port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('no answer in 10 s')));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function smoke(name) {
  const port = await freePort();
  const a = app(name, { port, host });
  const env = { ...process.env };
  for (const k of ENV_KEYS) delete env[k];
  Object.assign(env, a.env);
  const child = spawn(process.execPath, [...nodeArgs, ...a.command], { cwd: a.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let exit = null;
  exited.then((e) => { exit = e; });
  const t0 = Date.now();
  const problems = [];
  let ready = null;
  try {
    for (;;) {
      if (exit) throw new Error(`exited (${exit.signal || exit.code}) before answering`);
      try {
        const r = await get(port, '/');
        ready = Date.now() - t0;
        if (r.status !== 200) problems.push(`GET / answered ${r.status}`);
        if (!r.body.includes(a.text)) problems.push(`GET / has no ${JSON.stringify(a.text)}: ${JSON.stringify(r.body.slice(0, 200))}`);
        break;
      } catch (err) {
        if (err.code !== 'ECONNREFUSED' || Date.now() - t0 > 30000) throw err;
        await sleep(100);
      }
    }
    if (a.slow) {
      const t1 = Date.now();
      const r = await get(port, '/slow?ms=300');
      const took = Date.now() - t1;
      if (r.status !== 200) problems.push(`GET /slow answered ${r.status}`);
      if (!r.body.includes(a.text)) problems.push(`GET /slow has no ${JSON.stringify(a.text)}`);
      if (took < 290) problems.push(`GET /slow?ms=300 answered in ${took} ms`);
    }
  } catch (err) {
    problems.push(err.message);
  }
  const t2 = Date.now();
  if (!exit) child.kill('SIGTERM');
  const stopped = await Promise.race([exited, sleep(10000).then(() => null)]);
  if (!stopped) {
    problems.push('still running 10 s after SIGTERM');
    child.kill('SIGKILL');
    await exited;
  }
  const stop = stopped ? `${stopped.signal || `exit ${stopped.code}`} in ${Date.now() - t2} ms` : 'killed';
  return { name, version: a.version, ok: problems.length === 0, ready, stop, problems, output };
}

async function main() {
  const list = selected.length ? selected : names;
  let failed = 0;
  for (const name of list) {
    const r = await smoke(name);
    if (!r.ok) failed++;
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${name} ${r.version}: answered after ${r.ready} ms, stopped: ${r.stop}${r.ok ? '' : `\n     ${r.problems.join('\n     ')}`}`);
    if (!r.ok || process.env.SMOKE_VERBOSE) console.log(r.output.replace(/^/gm, '     | ').trimEnd());
  }
  process.exitCode = failed ? 1 : 0;
}

main();
