#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Activation + notify smoke test of an installed sd-activate, the way systemd
// calls a service (CI: scripts/ci-prebuilds.sh):
//
//   node scripts/smoke.js --project DIR [--expect BACKEND[/LINKAGE]] [--prebuild]
//        [--node PATH] [--wrap 'CMD ARGS'] [--timeout MS]
//
// The parent (this Node) opens a listening TCP socket on 127.0.0.1 and a
// notify receiver (sd-activate's own NotifyReceiver, loaded from DIR), and
// starts a child, `sh -c 'LISTEN_PID=$$ exec [WRAP] NODE smoke.js --child'`,
// with the socket at fd 3, LISTEN_FDS=1 and LISTEN_PID = the child's own pid.
// The child requires sd-activate from DIR, activates one listener, serves
// HTTP on the inherited socket and sends READY=1. The parent checks: an HTTP
// response from the child's pid over the socket it passed, READY=1 from that
// pid, the backend the child reports, and (--prebuild) that the .node it
// loaded is under prebuilds/ and that no build/ directory exists.
// --wrap runs the child's Node under an emulator (qemu-aarch64-static -L ...).
// Then the same with the zero-code preload: an app that only calls
// server.listen(), started as `node --import sd-activate/register` in DIR
// (resolved from DIR's node_modules), must adopt fd 3 and be READY=1.
// Prints one line of JSON (what the children reported) and exits 0 on success.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

if (args[0] === '--child') child();
else if (args[0] === '--zero-code-child') zeroCodeChild();
else parent().catch((err) => { console.error(`smoke: FAILED: ${err.message}`); process.exit(1); });

function child() {
  const project = args[1];
  // The installed copy, explicitly: from inside this repository a bare
  // 'sd-activate' would resolve to the repository itself (self-reference).
  const sd = require(path.join(project, 'node_modules', 'sd-activate'));
  const activation = sd.activate({ http: { port: Number(args[2]), bind: '127.0.0.1' } });
  activation.listen('http', () => http.createServer((req, res) => res.end(`${process.pid}\n`))).then(() => {
    const info = sd.backendInfo();
    const nodeFiles = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
    const sent = sd.ready('smoke');
    process.stdout.write(JSON.stringify({
      pid: process.pid, node: process.version, arch: process.arch,
      glibc: process.report.getReport().header.glibcVersionRuntime,
      backend: info.backend, linkage: info.linkage, libsystemdVersion: info.libsystemdVersion,
      loadError: info.loadError && info.loadError.message,
      inherited: activation.inherited('http'), readySent: sent, addon: nodeFiles,
    }) + '\n');
  }, (err) => { console.error(err); process.exit(1); });
  process.on('SIGTERM', () => process.exit(0));
}

/**
 * An app that knows nothing of sd-activate, started with `--import
 * sd-activate/register` from DIR (the specifier resolves from the consumer's
 * node_modules): its own listen() must adopt fd 3, and the preload sends READY=1.
 */
function zeroCodeChild() {
  const [, project, port] = args;
  const server = http.createServer((req, res) => res.end(`${process.pid}\n`));
  server.listen(Number(port), '127.0.0.1', () => {
    const inode = (fd) => fs.readlinkSync(`/proc/self/fd/${fd}`);
    const info = require(path.join(project, 'node_modules', 'sd-activate')).backendInfo();
    process.stdout.write(JSON.stringify({
      pid: process.pid, node: process.version, arch: process.arch, backend: info.backend, linkage: info.linkage,
      loadError: info.loadError && info.loadError.message, inherited: inode(server._handle.fd) === inode(3),
      addon: Object.keys(require.cache).filter((k) => k.endsWith('.node')),
    }) + '\n');
  });
}

async function parent() {
  const first = await check('--child');
  const zero = await check('--zero-code-child');
  console.log(JSON.stringify({ ...first, zeroCode: { inherited: zero.inherited, served: zero.served, notified: zero.notified } }));
}

/** Run one child the way systemd would (`--child`: activate(); `--zero-code-child`: the preload), check it, return its report. */
async function check(mode) {
  const project = path.resolve(opt('--project', '.'));
  const pkg = path.join(project, 'node_modules', 'sd-activate');
  const expect = opt('--expect');
  const timeout = Number(opt('--timeout', 60000));
  const nodeBin = opt('--node', process.execPath);
  const wrap = (opt('--wrap', '') || '').split(' ').filter(Boolean);
  const native = require(require.resolve('node-gyp-build', { paths: [pkg] }))(pkg);

  const fd = native.openSocket('tcp', '127.0.0.1', 0, 16, -1);
  if (fd < 0) throw new Error(`openSocket: ${fd}`);
  const port = native.describeSocket(fd).port;
  const notifyPath = path.join(os.tmpdir(), `sdact-smoke-${process.pid}.sock`);
  fs.rmSync(notifyPath, { force: true });
  const messages = [];
  let onMessage = () => {};
  const receiver = new native.NotifyReceiver(notifyPath, (text, pid) => { messages.push({ text, pid }); onMessage(); });

  const env = { ...process.env, LISTEN_FDS: '1', NOTIFY_SOCKET: notifyPath };
  for (const k of ['LISTEN_PID', 'LISTEN_FDNAMES', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[k];
  const preload = mode === '--zero-code-child' ? ['--import', 'sd-activate/register'] : [];
  const proc = spawn('sh', ['-c', 'LISTEN_PID=$$ exec "$@"', 'sh', ...wrap, nodeBin, ...preload, __filename, mode, project, String(port)],
    { env, stdio: ['ignore', 'pipe', 'inherit', fd], cwd: project });
  native.close(fd);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeout);
  try {
    const report = await Promise.race([
      new Promise((resolve) => { proc.stdout.on('data', () => { if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0])); }); }),
      exited.then(({ code, signal }) => { throw new Error(`child exited (${code ?? signal}) before it was ready`); }),
    ]);
    if (report.pid !== proc.pid) throw new Error(`child pid ${report.pid}, spawned ${proc.pid}`);
    if (!report.inherited) throw new Error(`the listener did not adopt the socket at fd 3: ${JSON.stringify(report)}`);
    const body = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
        let b = ''; res.setEncoding('utf8').on('data', (d) => { b += d; }).on('end', () => resolve(b));
      }).on('error', reject);
    });
    if (Number(body) !== proc.pid) throw new Error(`HTTP answered by ${body.trim()}, not the child ${proc.pid}`);
    report.served = true;
    const ready = () => messages.find((m) => m.pid === proc.pid && /^READY=1$/m.test(m.text));
    if (!ready()) await new Promise((resolve, reject) => { onMessage = () => ready() && resolve(); setTimeout(() => reject(new Error(`no READY=1 from ${proc.pid}: ${JSON.stringify(messages)}`)), 10000); });
    report.notified = true;
    if (expect) {
      const got = expect.includes('/') ? `${report.backend}/${report.linkage}` : report.backend;
      if (got !== expect) throw new Error(`backend ${got}, expected ${expect} (${report.loadError || ''})`);
    }
    if (args.includes('--prebuild')) {
      if (!report.addon.length || !report.addon.every((f) => f.startsWith(path.join(pkg, 'prebuilds') + path.sep))) {
        throw new Error(`addon not loaded from prebuilds/: ${report.addon.join(', ') || 'none'}`);
      }
      if (fs.existsSync(path.join(pkg, 'build'))) throw new Error(`${path.join(pkg, 'build')} exists: the install compiled`);
    }
    return report;
  } finally {
    clearTimeout(timer);
    proc.kill('SIGTERM');
    await exited;
    receiver.close();
    fs.rmSync(notifyPath, { force: true });
  }
}
