// SPDX-License-Identifier: MIT
'use strict';
// Run a real child process the way systemd would: the given fds placed at
// 3, 4, ... and LISTEN_PID set to the child's own pid (`LISTEN_PID=$$ exec`),
// LISTEN_FDS / LISTEN_FDNAMES as asked. The parent's copies are closed after
// the spawn, so only the child holds the sockets.
const { spawn } = require('node:child_process');
const path = require('node:path');
const native = require('./native');
const { plainEnv, shExec, slack } = require('./common');

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/**
 * Open a socket in this process with the addon's openSocket primitive.
 * kind: tcp | udp | unix | unix-dgram | seqpacket; address numeric or a path.
 * Returns { fd, port, address, path } (port resolved for port 0).
 */
function openSocket(kind, address, port = 0, { backlog = 128, v6only = -1 } = {}) {
  const fd = native.openSocket(kind, address, port, backlog, v6only);
  if (fd < 0) throw new Error(`openSocket(${kind}, ${address}, ${port}) failed: ${fd}`);
  const d = native.describeSocket(fd);
  return { fd, ...d };
}

/**
 * Spawn `node <script> ...args` with fds at 3, 4, ...
 * options:
 *   fds        parent fds to place at 3, 4, ... (closed in the parent afterwards
 *              unless keep: true)
 *   listenFds  LISTEN_FDS value (default: fds.length when fds given, unset otherwise);
 *              null leaves it unset
 *   names      LISTEN_FDNAMES as an array or a raw string
 *   listenPid  'self' (default when fds given), a number/string, or null
 *   env        extra environment
 *   script     a fixture file name (in test/fixtures) or an absolute path
 *   input      text for stdin
 *   cwd        its working directory (default: this process's)
 *   timeout    ms before the child is killed (default 20000, times SD_ACTIVATE_TIME_SCALE)
 * Resolves { code, signal, stdout, stderr, lines, json } where json is the
 * last stdout line parsed as JSON (or undefined).
 */
function runChild(options) {
  const child = startChild(options);
  return child.done;
}

function startChild({ fds = [], listenFds, names, listenPid, env = {}, script, args = [], input,
  timeout = 20000, keep = false, nodeArgs = [], cwd }) {
  const childEnv = { ...process.env, ...env };
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) {
    if (!(k in env)) delete childEnv[k];
  }
  if (listenFds === undefined && fds.length > 0) listenFds = String(fds.length);
  if (listenFds !== undefined && listenFds !== null) childEnv.LISTEN_FDS = String(listenFds);
  if (names !== undefined && names !== null) childEnv.LISTEN_FDNAMES = Array.isArray(names) ? names.join(':') : names;
  if (listenPid === undefined && (fds.length > 0 || listenFds !== undefined)) listenPid = 'self';
  const file = path.isAbsolute(script) ? script : path.join(FIXTURES, script);
  let argv;
  if (listenPid === 'self') {
    argv = ['sh', ['-c', shExec('LISTEN_PID=$$'), process.execPath, ...nodeArgs, file, ...args]];
  } else {
    if (listenPid !== null && listenPid !== undefined) childEnv.LISTEN_PID = String(listenPid);
    argv = [process.execPath, [...nodeArgs, file, ...args]];
  }
  const proc = spawn(argv[0], argv[1], { env: argv[0] === 'sh' ? plainEnv(childEnv) : childEnv,
    stdio: ['pipe', 'pipe', 'pipe', ...fds], ...(cwd ? { cwd } : {}) });
  if (!keep) for (const fd of fds) native.close(fd);
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  proc.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  if (input !== undefined) proc.stdin.end(input); else proc.stdin.end();
  const timer = setTimeout(() => proc.kill('SIGKILL'), slack(timeout));
  const done = new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter(Boolean);
      let json;
      try { json = JSON.parse(lines[lines.length - 1]); } catch { json = undefined; }
      resolve({ code, signal, stdout, stderr, lines, json, pid: proc.pid });
    });
  });
  return { proc, done };
}

/** A port that was free a moment ago (bound, then closed). */
/**
 * A port nothing listens on now, for a child to bind itself. Picked below the
 * kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
 * default), where no bind(0) or outgoing connection of another test can take
 * it between this check and the child's bind; another test's freePort() picks
 * the same one with odds of 1 in 12,000.
 */
function freePort(address = '127.0.0.1') {
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    const fd = native.openSocket('tcp', address, port, -1, -1);
    if (fd < 0) continue; // in use
    native.close(fd);
    return port;
  }
  throw new Error(`freePort: no free port in 20000-32767 on ${address}`);
}

module.exports = { openSocket, runChild, startChild, freePort, FIXTURES };
