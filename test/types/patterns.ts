// SPDX-License-Identifier: MIT
// The documented ways to use sd-activate, as a consumer's TypeScript writes
// them: this file must compile under strict settings with every supported
// TypeScript and module resolution (see test/types.test.js).
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import {
  activate, backendInfo, barrier, forkWorker, lifecycle, listenFds, notify, ready, removeStaleSocket, SdActivateError, socketFd, startWatchdog,
  status, stopping, storeFds, storeListeners, EX_CONFIG,
  type ActivationPlan, type ActivationReport, type DatagramTarget, type ListenerConfig, type StreamTarget, type Warning,
} from 'sd-activate';
// The zero-code preload is an entry point of its own, with types (it exports nothing).
import 'sd-activate/register';

const app: http.RequestListener = (req, res) => { res.end('hi'); };

// The config is a literal: stream and datagram listeners get their own target types.
const activation = activate({
  http: { port: 8080, bind: ['127.0.0.1', '::1'] },
  admin: { path: '/run/app/admin.sock' },
  dns: { port: 5353, type: 'datagram', bind: '*' },
  web: { fdname: 'web' },
}, { onWarning: (w: Warning) => console.warn(w.code, w.fd, w.message), logger: console });

for (const target of activation.targets('http')) http.createServer(app).listen(target, target.backlog);
const admin: StreamTarget[] = activation.targets('admin');
const dns: DatagramTarget[] = activation.targets('dns');
for (const t of dns) dgram.createSocket(t).bind(t);
void admin;

// node:cluster: the primary forks workers that serve its inherited sockets.
export function forkAll(n: number): Array<import('node:cluster').Worker> {
  return Array.from({ length: n }, () => forkWorker(activation, { ROLE: 'worker' }));
}

async function main(): Promise<void> {
  const servers = await activation.listen('http', () => http.createServer(app));
  const sockets = await activation.listen('dns', (t) => dgram.createSocket(t).on('message', () => {}));
  const servers2: http.Server[] = servers;
  const sockets2: dgram.Socket[] = sockets;
  void servers2; void sockets2;
  lifecycle({ servers: [activation.listen('web', () => http.createServer(app)), ...servers], status: 'up' });
  const again: StreamTarget[] = activation.rebind('http', { port: 9090 });
  void again;
  const report: ActivationReport = activation.report();
  const plan: ActivationPlan = JSON.parse(JSON.stringify(activation.plan()));
  void report; void plan;
  if (activation.inherited('http')) console.log('socket-activated');
  const names: Array<'http' | 'admin' | 'dns' | 'web'> = activation.names();
  void names;
}
main().catch((e: unknown) => {
  process.exit(e instanceof SdActivateError && e.exitCode !== undefined ? e.exitCode : 1);
});

// A config built at run time: targets are the union, narrowed by the app.
const configs: Record<string, ListenerConfig> = { http: { port: Number(process.env.PORT ?? 8080) } };
const dynamic = activate(configs);
for (const t of dynamic.targets('http')) {
  if ('type' in t) dgram.createSocket(t).bind(t);
  else net.createServer().listen(t, t.backlog);
}

// Notifications, watchdog, fd store, low level.
const sent: boolean = notify({ READY: 1, STATUS: 'up' });
ready('serving'); status('half way'); stopping();
void barrier(1000).then((ok: boolean) => ok);
const wd = startWatchdog({ healthy: () => true });
wd.on('skip', (s) => console.log(s.reason));
const server = http.createServer(app).listen(0, () => {
  storeFds('web', server);
  storeListeners(activation, { http: server });
  console.log(socketFd(server));
});
void removeStaleSocket('/run/app/admin.sock');
for (const { fd, name } of listenFds()) console.log(fd, name);
console.log(backendInfo().backend, EX_CONFIG, sent);
