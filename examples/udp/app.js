// SPDX-License-Identifier: MIT
'use strict';
// A UDP echo service under systemd socket activation (see udp-echo.socket/.service).
// The first datagram starts the service; it waits in the socket's queue and is
// answered once the app has adopted the socket. Run by hand: `node app.js`
// binds 127.0.0.1:5300 itself. Try: echo hi | nc -u -w1 127.0.0.1 5300
const dgram = require('node:dgram');
const { activate, lifecycle } = require('sd-activate');

const activation = activate({
  echo: { port: Number(process.env.PORT || 5300), bind: '127.0.0.1', type: 'datagram' },
});

activation.listen('echo', (target) => {
  // target is { fd, type } for an inherited socket, { port, address, type } otherwise.
  const socket = dgram.createSocket(target); // picks udp4/udp6 (and ipv6Only) from the target
  socket.on('message', (msg, from) => {
    const reply = JSON.stringify({ app: 'udp-echo', pid: process.pid, inherited: activation.inherited('echo'), echo: msg.toString() });
    socket.send(reply, from.port, from.address);
  });
  return socket;
}).then((sockets) => {
  lifecycle({ servers: sockets, status: 'udp-echo: serving' });
}, (err) => {
  console.error(err);
  process.exit(err.exitCode ?? 1); // 78 (EX_CONFIG) when the .socket unit contradicts the app
});
