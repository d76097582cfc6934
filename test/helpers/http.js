// SPDX-License-Identifier: MIT
'use strict';
// Plain clients for the tests that start servers they do not control (the
// zero-code preload, real frameworks): one GET over a fresh connection, and
// "the kernel accepted the connection but nobody answers".
const net = require('node:net');
const { slack } = require('./common');

/**
 * GET `pathName` over a new connection (`Connection: close`).
 * Resolves { status, body } (status a number), or { error } with the error code or 'timeout'.
 */
function get(port, host = '127.0.0.1', pathName = '/', ms = 5000) {
  return new Promise((resolve) => {
    const c = net.connect({ port, host });
    let raw = '';
    c.setTimeout(slack(ms), () => { c.destroy(); resolve({ error: 'timeout' }); });
    c.on('connect', () => c.write(`GET ${pathName} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    c.on('data', (d) => { raw += d; });
    c.on('end', () => {
      const cut = raw.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0), body: cut < 0 ? '' : raw.slice(cut + 4) });
    });
    c.on('error', (e) => resolve({ error: e.code }));
  });
}

/** Whether a connection to `port` is accepted by the kernel (it waits in the queue) but never answered within `ms`. */
function unanswered(port, ms = 500, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const c = net.connect({ port, host });
    let connected = false;
    let data = false;
    c.on('connect', () => { connected = true; c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); });
    c.on('data', () => { data = true; });
    c.on('error', () => {});
    setTimeout(() => { c.destroy(); resolve(connected && !data); }, ms);
  });
}

module.exports = { get, unanswered };
