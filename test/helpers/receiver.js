// SPDX-License-Identifier: MIT
'use strict';
// Drives test/helpers/notify-receiver.py: a real sd_notify receiver
// (AF_UNIX datagram, SO_PASSCRED) that is not sd-activate's own code.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { plainEnv } = require('./common');

let counter = 0;

/**
 * Messages as they arrive, and next(pred, ms): the first message (already
 * received or future) matching pred, or a rejection after ms.
 */
function collector(where) {
  const messages = [];
  const waiters = [];
  return {
    messages,
    add(m) {
      messages.push(m);
      for (const w of waiters.slice()) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
    },
    next(pred = () => true, ms = 15000) {
      const have = messages.find(pred);
      if (have) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (m) => { clearTimeout(t); resolve(m); } };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching notify message at ${where} within ${ms} ms; got ${JSON.stringify(messages)}`));
        }, ms);
        waiters.push(w);
      });
    },
  };
}

/**
 * Start a receiver. kind 'path' (default) binds a fresh file under the temp
 * dir; 'abstract' binds '@sd-activate-test-<pid>-<n>'. rcvbuf optional.
 * Returns { address, messages, next(pred, ms), stall(), resume(), holdBarrier(), close() }.
 */
async function startReceiver({ kind = 'path', rcvbuf } = {}) {
  counter += 1;
  const address = kind === 'abstract'
    ? `@sd-activate-test-${process.pid}-${counter}`
    : path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sdact-notify-')), 'notify.sock');
  const args = [path.join(__dirname, 'notify-receiver.py'), address];
  if (rcvbuf) args.push(String(rcvbuf));
  const proc = spawn('/usr/bin/python3', args, { env: plainEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  const got = collector(address);
  const rl = readline.createInterface({ input: proc.stdout });
  let readyResolve;
  const ready = new Promise((r) => { readyResolve = r; });
  const acks = [];
  rl.on('line', (line) => {
    const m = JSON.parse(line);
    if (m.ready) return readyResolve();
    if (m.ack) { const a = acks.shift(); if (a) a(); return; }
    got.add(m);
  });
  await ready;
  const command = (cmd) => new Promise((resolve) => { acks.push(resolve); proc.stdin.write(cmd + '\n'); });
  return {
    address,
    messages: got.messages,
    /** Resolve with the first message (already received or future) matching pred. */
    next: (pred, ms = 10000) => got.next(pred, ms),
    stall: () => command('stall'),
    resume: () => command('resume'),
    holdBarrier: () => command('hold-barrier'),
    async close() {
      proc.stdin.end('quit\n');
      await new Promise((r) => proc.once('close', r));
      if (kind === 'path') fs.rmSync(path.dirname(address), { recursive: true, force: true });
    },
  };
}

/**
 * A receiver on sd-activate's own native.NotifyReceiver (for tests that need
 * the fds a message carries, or test the receiver itself). Messages are
 * { text, pid, fds }: fds are closed on arrival unless keepFds.
 * Returns { address, messages, receiver, next(pred, ms), close() }.
 */
function nativeReceiver(address, { keepFds = false } = {}) {
  const native = require('./native');
  const got = collector(address);
  const receiver = new native.NotifyReceiver(address, (text, pid, fds) => {
    if (!keepFds) for (const fd of fds) native.close(fd);
    got.add({ text, pid, fds });
  });
  return {
    address,
    messages: got.messages,
    receiver,
    next: got.next,
    close: () => receiver.close(),
  };
}

module.exports = { startReceiver, nativeReceiver };
