// SPDX-License-Identifier: MIT
'use strict';
// `sd-activate --accept`: one child per connection, as Accept=yes.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { child, startCli } = require('./helpers/cli');

function exchange(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.setEncoding('utf8');
    s.on('connect', () => { if (text !== undefined) s.end(text); });
    s.on('data', (d) => { data += d; });
    s.on('end', () => { s.end(); resolve(data); });
    s.on('error', reject);
  });
}

test('--accept: each connection gets its own child with the connection at fd 3', async () => {
  const h = startCli(['--accept', '-l', '127.0.0.1:0', '--', ...child('connection')]);
  try {
    await h.waitFor(/listening on tcp 127\.0\.0\.1:\d+ \(accepting connections\)/);
    const port = h.ports()[0];
    const a = await exchange(port);
    const b = await exchange(port);
    const re = /^pid (\d+) 1 connection true 127\.0\.0\.1\n$/;
    assert.match(a, re);
    assert.match(b, re);
    assert.notEqual(re.exec(a)[1], re.exec(b)[1], 'one process per connection');
    await h.waitFor(/exited with code 0/, { count: 2 });
    const r = await h.stop();
    assert.equal(r.code, 0);
  } finally {
    await h.stop();
  }
});

test('--accept --inetd: the connection on stdin and stdout (cat echoes)', async () => {
  const h = startCli(['--accept', '--inetd', '-l', '127.0.0.1:0', '--', 'cat']);
  try {
    await h.waitFor(/accepting connections/);
    assert.equal(await exchange(h.ports()[0], 'ping\n'), 'ping\n');
  } finally {
    await h.stop();
  }
});
