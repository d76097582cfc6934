// SPDX-License-Identifier: MIT
/**
 * `node:cluster` with inherited sockets: the primary (the process the
 * service manager started) decides with `activate()`, and each worker it
 * forks with {@link forkWorker} gets the plan in its environment, so the
 * worker's own `activate()` (synchronous, as in the primary) returns the same
 * listeners and targets without reading `LISTEN_*`. A worker's
 * `server.listen({ fd })` is routed by Node to the primary, which accepts
 * (round-robin) or shares the handle (`SCHED_NONE`).
 *
 * Each worker gets its own duplicate of every adopted fd: Node closes the
 * primary's handle when the last worker using it goes, and that closes the
 * duplicate, never the manager's socket, which the primary keeps open however
 * workers come and go (connections queue in the kernel meanwhile).
 *
 * @see sd_listen_fds(3)
 */
import type * as cluster from 'node:cluster';
import * as fs from 'node:fs';
import type { Activation } from './activation/activate';
import type { ListenerConfig } from './activation/listeners';
import { PLAN_ENV } from './activation/inspect';
import { invalid } from './errors';
import { closeFd, dupFd } from './sockets';


/** The fds of this process that are duplicates handed to a live worker, with the socket inode each must still be. */
const handedOut = new Map<number, { worker: cluster.Worker; ino: number }>();

/**
 * Fork a cluster worker that serves this process's inherited sockets: its
 * `activate()` (with the same config) gets this activation's plan, with a
 * duplicate of each adopted fd made for it. Call it in the primary, after
 * `activate()`.
 *
 * @param activation - the primary's activation
 * @param env - more environment for the worker, as `cluster.fork(env)` takes
 * @returns the worker
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` outside a cluster primary
 * @throws {@link SystemError} when an fd cannot be duplicated (e.g. `EMFILE`)
 * @example
 * ```ts
 * const activation = activate({ http: { port: 8080, bind: '127.0.0.1' } });
 * if (cluster.isPrimary) for (let i = 0; i < 4; i++) forkWorker(activation);
 * else await activation.listen('http', () => http.createServer(app));
 * ```
 */
export function forkWorker<C extends Record<string, ListenerConfig>>(activation: Activation<C>, env: NodeJS.ProcessEnv = {}): cluster.Worker {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const c = require('node:cluster') as typeof cluster.default;
  if (!c.isPrimary) invalid('forkWorker() forks from the cluster primary only');
  const plan = activation.plan();
  const dups: Array<{ fd: number; ino: number }> = [];
  try {
    for (const l of plan.listeners) {
      for (const a of l.adopted) {
        const fd = dupFd(a.fd);
        dups.push({ fd, ino: fs.fstatSync(fd).ino });
        a.fd = fd;
      }
    }
  } catch (err) {
    for (const d of dups) closeFd(d.fd);
    throw err;
  }
  const worker = c.fork({ ...env, [PLAN_ENV]: JSON.stringify(plan) });
  for (const d of dups) handedOut.set(d.fd, { worker, ino: d.ino });
  // Node closes its handle of a duplicate with the last worker using it; one the
  // worker never listened on is still open then: close it (if it is still ours).
  worker.once('exit', () => setImmediate(() => {
    for (const d of dups) {
      if (handedOut.get(d.fd)?.worker !== worker) continue;
      handedOut.delete(d.fd);
      let ino: number | undefined;
      try {
        ino = fs.fstatSync(d.fd).ino;
      } catch {
        continue; // closed by Node
      }
      if (ino === d.ino) {
        try {
          closeFd(d.fd);
        } catch {
          // gone meanwhile
        }
      }
    }
  }));
  return worker;
}
