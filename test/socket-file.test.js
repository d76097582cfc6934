// SPDX-License-Identifier: MIT
'use strict';
// Removing a stale unix socket file must not remove what was not checked:
// an unprivileged user who controls a directory on the path flips it, in a
// tight loop, between a directory holding a stale socket and one holding a
// live victim socket, while removeStaleSocket() (root) runs against the path.
// The victim must survive every round. Also: parents other users may write
// are refused unless sticky and owned by root or the caller; the command's
// exit removal only removes the inode it created.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { tmpdir, plainEnv } = require('./helpers/common');
const native = require('./helpers/native');
const sd = require('../dist');
const { removeOwnSocketFile, removeStaleSocketFile } = require('../dist/socket-file');
const { probeUnixSocket } = require('../dist/sockets');

const ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;
const ROUNDS = Number(process.env.SD_ACTIVATE_FLIP_ROUNDS || 300);

function staleSocket(p) {
  native.close(native.openSocket('unix', p, 0, 16, -1)); // bound, listened, closed: the file stays, nobody accepts
}

function listenAt(p) {
  const server = net.createServer((c) => { c.on('error', () => {}); c.end('victim\n'); });
  return new Promise((resolve) => server.listen(p, () => resolve(server)));
}

test('a directory flipped on the path by another user never makes a live socket go (root only)', { skip: !ROOT && 'needs root (the flipper runs as nobody)', timeout: 120000 }, async (t) => {
  const base = tmpdir(t);
  fs.chmodSync(base, 0o755);
  const stale = path.join(base, 'stale');
  const victim = path.join(base, 'victim');
  const attacker = path.join(base, 'attacker');
  for (const d of [stale, victim, attacker]) fs.mkdirSync(d, { mode: 0o755 });
  fs.chownSync(attacker, NOBODY, NOBODY);
  const victimSock = path.join(victim, 'app.sock');
  let server = await listenAt(victimSock);
  t.after(() => server.close());
  const link = path.join(attacker, 'link');
  fs.symlinkSync(stale, link);
  fs.lchownSync(link, NOBODY, NOBODY);
  // The flipper: rename(2) a fresh symlink over `link`, alternating its target, as fast as it can.
  const flipper = spawn(process.execPath, ['-e', `
    const fs = require('fs'); const [link, a, b] = process.argv.slice(1); let i = 0;
    for (;;) { const tmp = link + '.' + (i & 1); try { fs.unlinkSync(tmp); } catch {} fs.symlinkSync(i++ & 1 ? a : b, tmp); fs.renameSync(tmp, link); }`,
  link, stale, victim], { uid: NOBODY, gid: NOBODY, cwd: '/', env: plainEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let flipErr = '';
  flipper.stderr.on('data', (d) => { flipErr += d; });
  await new Promise((resolve, reject) => { flipper.once('spawn', resolve); flipper.once('error', reject); });
  t.after(() => flipper.kill('SIGKILL'));
  // Node takes a moment to start: begin once the link has been flipped to the victim.
  while (fs.readlinkSync(link) !== victim) await new Promise((r) => setTimeout(r, 10));
  const target = path.join(link, 'app.sock');
  const seen = { removed: 0, live: 0, other: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    if (!fs.existsSync(path.join(stale, 'app.sock'))) staleSocket(path.join(stale, 'app.sock'));
    const r = await removeStaleSocketFile(target);
    if (r.state === 'removed') seen.removed++;
    else if (r.state === 'live') seen.live++;
    else seen.other++;
    assert.ok(fs.lstatSync(victimSock).isSocket(), `round ${i}: the victim's socket file was removed (${JSON.stringify(r)})`);
  }
  // The control: the check-then-unlink-by-name algorithm this replaced, under the same flipper.
  // On a busy machine the flipper may lose ROUNDS rounds in a row: go on (up to 20 times as many) until it wins once.
  let naiveVictims = 0;
  let controlRounds = 0;
  for (let i = 0; i < ROUNDS || (naiveVictims === 0 && i < ROUNDS * 20); i++) {
    controlRounds++;
    if (!fs.existsSync(path.join(stale, 'app.sock'))) staleSocket(path.join(stale, 'app.sock'));
    try {
      if (fs.lstatSync(target).isSocket() && (await probeUnixSocket(target)) === 'stale') fs.unlinkSync(target);
    } catch { /* gone meanwhile */ }
    if (!fs.existsSync(victimSock)) {
      naiveVictims++;
      await new Promise((r) => server.close(r));
      server = await listenAt(victimSock);
    }
  }
  t.diagnostic(`control: unlink by name after the check removed the victim in ${naiveVictims} of ${controlRounds} rounds`);
  assert.ok(naiveVictims > 0, 'the flipper never won against the naive removal: the race was not exercised');
  flipper.kill('SIGKILL');
  const answer = await new Promise((resolve, reject) => {
    const c = net.connect(victimSock);
    let text = '';
    c.setEncoding('utf8').on('data', (d) => { text += d; }).on('end', () => resolve(text)).on('error', reject);
  });
  assert.equal(answer, 'victim\n', 'the victim still serves at its path');
  t.diagnostic(`${ROUNDS} rounds: stale removed ${seen.removed}, victim seen live and kept ${seen.live}, other ${seen.other}`);
  assert.ok(seen.removed > 0 && seen.live > 0, `both directories were reached through the flipped path: ${JSON.stringify(seen)} ${flipErr}`);
});

test('a parent other users may write is refused; sticky and root-owned (/tmp) or private is fine', { skip: !ROOT && 'needs root (chown)' }, async (t) => {
  const base = tmpdir(t);
  fs.chmodSync(base, 0o755);
  const theirs = path.join(base, 'theirs');
  fs.mkdirSync(theirs, { mode: 0o755 });
  const open = path.join(base, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  const sticky = path.join(base, 'sticky');
  fs.mkdirSync(sticky);
  fs.chmodSync(sticky, 0o1777);
  for (const d of [theirs, open, sticky]) staleSocket(path.join(d, 's.sock'));
  fs.chownSync(theirs, NOBODY, NOBODY);
  const r1 = await removeStaleSocketFile(path.join(theirs, 's.sock'));
  assert.equal(r1.state, 'refused');
  assert.match(r1.reason, /writable by other users \(mode 755, owner uid 65534\)/);
  assert.equal((await removeStaleSocketFile(path.join(open, 's.sock'))).state, 'refused');
  assert.equal(await sd.removeStaleSocket(path.join(sticky, 's.sock')), true, 'sticky and owned by root');
  assert.ok(fs.existsSync(path.join(theirs, 's.sock')) && fs.existsSync(path.join(open, 's.sock')));
  const mine = path.join(base, 'mine.sock');
  staleSocket(mine);
  assert.equal(await sd.removeStaleSocket(mine), true);
  assert.equal(fs.existsSync(mine), false);
});

test('the exit removal takes only the inode this process created', async (t) => {
  const dir = tmpdir(t);
  const p = path.join(dir, 'own.sock');
  staleSocket(p);
  const created = fs.statSync(p);
  staleSocket(`${p}.new`);
  fs.renameSync(`${p}.new`, p); // someone else's socket at the same path now (a new inode: the old one was still in use)
  assert.equal(removeOwnSocketFile(p, { dev: created.dev, ino: created.ino }), false);
  assert.ok(fs.existsSync(p));
  const now = fs.statSync(p);
  assert.equal(removeOwnSocketFile(p, { dev: now.dev, ino: now.ino }), true);
  assert.equal(fs.existsSync(p), false);
  // Through a symlinked directory (/var/run -> /run style) it still works.
  const real = path.join(dir, 'real');
  fs.mkdirSync(real);
  fs.symlinkSync(real, path.join(dir, 'alias'));
  staleSocket(path.join(real, 'x.sock'));
  assert.equal(await sd.removeStaleSocket(path.join(dir, 'alias', 'x.sock')), true);
});
