// SPDX-License-Identifier: MIT
'use strict';
// A node:cluster app on the manager's socket: the primary (the process systemd
// started) activate()s and runs CLUSTER_WORKERS workers with lifecycle({ cluster });
// each worker activate()s with the same config (it gets the primary's plan) and
// serves through lifecycle({ servers }). `systemctl reload` (SIGHUP) rolls the
// workers: a new generation listens before the old one stops, so no connection
// waits. `systemctl stop`: the workers finish their requests and exit; none is
// forked again.
//
//   node examples/cluster/app.js                             binds 127.0.0.1:8086 itself
//   systemd: cluster-example.socket + cluster-example.service (this directory)
//
// Environment: PORT (8086), HOST (127.0.0.1), CLUSTER_WORKERS (4), CLUSTER_ROLLING (one; all).
const cluster = require('node:cluster');
const http = require('node:http');
const { activate, lifecycle } = require('sd-activate');

const activation = activate({ http: { port: Number(process.env.PORT || 8086), bind: process.env.HOST || '127.0.0.1' } });

if (cluster.isPrimary) {
  lifecycle({ cluster: { activation, workers: Number(process.env.CLUSTER_WORKERS || 4), rolling: process.env.CLUSTER_ROLLING === 'all' ? 'all' : 'one' } });
} else {
  const app = (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(`${JSON.stringify({ app: 'cluster', pid: process.pid, primary: process.ppid })}\n`);
  };
  lifecycle({ servers: [activation.listen('http', () => http.createServer(app))] });
}
