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
 * Node closes the primary's handle of a socket when the last worker using it
 * goes, so the workers never get the manager's fd itself: the primary hands
 * cluster one duplicate per adopted fd, shared by every worker (one
 * round-robin queue, so a connection a retiring worker declines goes to
 * another worker), and makes a new one when Node has closed it. The manager's
 * socket stays open in the primary however workers come and go (connections
 * queue in the kernel meanwhile).
 *
 * @see sd_listen_fds(3)
 */
import type * as cluster from 'node:cluster';
import type { Activation } from './activation/activate';
import type { ListenerConfig } from './activation/listeners';
import { PLAN_ENV } from './activation/inspect';
import { invalid } from './errors';
import { dupFd, inodeOf } from './sockets';
import { warn } from './warnings';
import { setNice, STARTUP_NICE } from './nice';


/** Per adopted fd of this process: the duplicate cluster listens on, and the socket's inode (fd numbers are reused). */
const shared = new Map<number, { fd: number; ino: number }>();

/**
 * The duplicate of `fd` that cluster's handle uses: the one made before while
 * it still names the socket, else a new one (Node closed the last with the
 * last worker using it).
 *
 * @throws {@link SystemError} when none can be made (e.g. `EMFILE`)
 */
function liveDup(fd: number): number {
  const d = shared.get(fd);
  if (d !== undefined && inodeOf(d.fd) === d.ino) return d.fd;
  const dup = dupFd(fd);
  shared.set(fd, { fd: dup, ino: inodeOf(dup)! });
  return dup;
}

/**
 * A worker's `listen({ fd })` on a plan's fd arrives at the primary as
 * cluster's `queryServer` request: before cluster handles it, the adopted fd
 * it names is replaced by the live duplicate (an fd number no socket has, when
 * none can be made: the worker's listen fails with `EINVAL`, and a warning
 * says why).
 */
function routeToDuplicates(worker: cluster.Worker, fds: ReadonlySet<number>): void {
  worker.process.prependListener('internalMessage', (m: { cmd?: unknown; act?: unknown; fd?: unknown }) => {
    if (m?.cmd !== 'NODE_CLUSTER' || m.act !== 'queryServer' || typeof m.fd !== 'number' || !fds.has(m.fd)) return;
    try {
      m.fd = liveDup(m.fd);
    } catch (err) {
      warn('SD_ACTIVATE_LISTEN_FAILED', `fd ${m.fd}: no duplicate for cluster worker ${worker.process.pid} (${(err as Error).message}): its listen() fails`);
      m.fd = 0x7fffffff;
    }
  });
}

/**
 * A connection the round-robin primary handed a worker that died before it
 * answered stays open in the primary, answered by no one (Node keeps its copy
 * until the answer): close it once the worker's channel is gone, so the
 * client sees a reset, as for the connections Node had queued for the worker
 * (closed when the last worker goes), not a hang.
 */
function closeUnanswered(worker: cluster.Worker): void {
  type Msg = { cmd?: unknown; act?: unknown; seq?: unknown; ack?: unknown };
  const proc = worker.process as typeof worker.process & { send(m: Msg, h?: unknown, ...rest: unknown[]): boolean };
  const unanswered = new Map<unknown, { close(): void }>();
  const send = proc.send;
  proc.send = function (this: typeof proc, m: Msg, h?: unknown, ...rest: unknown[]): boolean {
    if (m?.cmd === 'NODE_CLUSTER' && m.act === 'newconn' && h) unanswered.set(m.seq, h as { close(): void });
    return send.call(this, m, h, ...rest);
  };
  proc.on('internalMessage', (m: Msg) => {
    if (m?.cmd === 'NODE_CLUSTER' && m.ack !== undefined) unanswered.delete(m.ack);
  });
  const closeAll = (): void => {
    for (const h of unanswered.values()) h.close();
    unanswered.clear();
  };
  proc.once('disconnect', closeAll);
  // Node emits no 'disconnect' when the channel ends while a handle it sent waits
  // for its acknowledgement (a worker killed with a connection on the way). Once
  // the worker has exited and its channel has ended, nothing more is answered.
  worker.once('exit', () => {
    let turns = 0;
    const t = setInterval(() => {
      if (proc.connected && ++turns < 500) return;
      clearInterval(t);
      closeAll();
    }, 10);
    t.unref();
  });
}

/**
 * Fork a cluster worker that serves this process's inherited sockets: its
 * `activate()` (with the same config) gets this activation's plan; its
 * listens are served on the primary's duplicates of the adopted fds. Call
 * it in the primary, after `activate()`.
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
  const fds = new Set(plan.listeners.flatMap((l) => l.adopted.map((a) => a.fd)));
  for (const fd of fds) liveDup(fd);
  const worker = c.fork({ ...env, [PLAN_ENV]: JSON.stringify(plan) });
  routeToDuplicates(worker, fds);
  closeUnanswered(worker);
  return worker;
}

/** Options of the cluster a {@link lifecycle} primary runs (its `cluster` option). */
export interface ClusterOptions<C extends Record<string, ListenerConfig> = Record<string, ListenerConfig>> {
  /** The primary's activation: each worker is forked with its plan ({@link forkWorker}). */
  activation: Activation<C>;
  /** How many workers. Default `os.availableParallelism()`. */
  workers?: number;
  /**
   * How long a new worker may take to listen (on every target of the
   * activation) before it counts as failed, in ms. Default 30000.
   */
  readyTimeoutMs?: number;
  /** More environment for the workers (`cluster.fork(env)`). */
  env?: NodeJS.ProcessEnv;
  /**
   * `none` (the default here): each worker accepts from the shared socket
   * itself, so a retiring worker leaves the connections it has not accepted
   * in the kernel's queue for the next generation; `rr`: Node's round-robin,
   * where the primary accepts and hands connections out (one queue for all
   * the workers: what a retiring worker declines goes to another; what was
   * queued when every worker died is closed). `NODE_CLUSTER_SCHED_POLICY`
   * in the environment wins, as in Node.
   */
  schedulingPolicy?: 'none' | 'rr';
  /**
   * How a reload replaces the workers: `one` at a time (the default: fork one,
   * wait until it listens, retire one old worker, and so on, so no more than
   * one new process starts at a time on the machine's cores), or `all` at once
   * (a whole new generation, then the old one retired).
   */
  rolling?: 'one' | 'all';
}

/** Variables of the primary a worker must not act on: it is not the service's main process. */
const PRIMARY_ONLY = { NOTIFY_SOCKET: undefined, WATCHDOG_USEC: undefined, WATCHDOG_PID: undefined };

/**
 * The workers of a primary: one generation serving, replaced as a whole by
 * {@link WorkerPool.roll}. A worker of the serving generation that dies is
 * forked again (after 100 ms, doubling to 5 s while they keep dying); none is
 * once stopping. @internal
 */
export class WorkerPool {
  readonly #activation: Activation<Record<string, ListenerConfig>>;
  readonly #n: number;
  readonly #readyMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #targets: number;
  readonly #rolling: 'one' | 'all';
  #serving = new Set<cluster.Worker>();
  /** Every worker forked and not exited yet: serving, starting or retiring. */
  readonly #alive = new Set<cluster.Worker>();
  #stopping = false;
  #delay = 100;

  constructor(o: ClusterOptions) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const os = require('node:os') as typeof import('node:os');
    this.#activation = o.activation as Activation<Record<string, ListenerConfig>>;
    this.#n = o.workers ?? os.availableParallelism();
    this.#readyMs = o.readyTimeoutMs ?? 30000;
    this.#rolling = o.rolling ?? 'one';
    this.#env = { ...o.env, ...PRIMARY_ONLY };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const c = require('node:cluster') as typeof cluster.default;
    if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) c.schedulingPolicy = o.schedulingPolicy === 'rr' ? c.SCHED_RR : c.SCHED_NONE;
    this.#targets = Math.max(1, this.#activation.names().reduce((k, name) => k + this.#activation.planFor(name).targets.length, 0));
  }

  /** The serving workers' pids. */
  pids(): number[] {
    return [...this.#serving].map((w) => w.process.pid ?? 0);
  }

  /** Fork one worker; resolves once it listens on every target, rejects when it exits or times out first. */
  #fork(): { worker: cluster.Worker; ready: Promise<void> } {
    const worker = forkWorker(this.#activation, this.#env);
    this.#alive.add(worker);
    // While it starts (loading code is CPU-bound), it must not take the cores from the
    // workers serving: lower its priority, and restore it once it listens. Only where the
    // restore is allowed (root; elsewhere raising a priority back needs CAP_SYS_NICE).
    const niced = STARTUP_NICE && worker.process.pid !== undefined && setNice(worker.process.pid, STARTUP_NICE);
    worker.once('exit', () => this.#alive.delete(worker));
    const ready = new Promise<void>((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(() => fail(new Error(`worker ${worker.process.pid} did not listen within ${this.#readyMs} ms`)), this.#readyMs);
      const onListening = (): void => {
        if (++seen < this.#targets) return;
        if (niced) setNice(worker.process.pid!, 0);
        done();
        resolve();
      };
      const onExit = (code: number | null, signal: string | null): void => fail(new Error(`worker ${worker.process.pid} exited (${code ?? signal}) before it listened`));
      const done = (): void => {
        clearTimeout(timer);
        worker.off('listening', onListening);
        worker.off('exit', onExit);
      };
      const fail = (err: Error): void => {
        done();
        reject(err);
      };
      worker.on('listening', onListening);
      worker.once('exit', onExit);
    });
    ready.catch(() => {}); // the caller decides; never an unhandled rejection
    return { worker, ready };
  }

  /** Make `w` part of the serving generation: forked again when it dies, unless stopping or retired. */
  #serve(w: cluster.Worker): void {
    this.#serving.add(w);
    w.once('exit', () => {
      if (!this.#serving.delete(w) || this.#stopping) return;
      const delay = this.#delay;
      this.#delay = Math.min(this.#delay * 2, 5000);
      setTimeout(() => {
        if (this.#stopping) return;
        const { worker, ready } = this.#fork();
        this.#serve(worker);
        ready.then(() => { this.#delay = 100; }, () => {});
      }, delay).unref();
    });
  }

  /** Fork `n` workers; resolves when every one listens. On failure, they are stopped and the error thrown. */
  async #generation(n = this.#n): Promise<cluster.Worker[]> {
    const forked = Array.from({ length: n }, () => this.#fork());
    try {
      await Promise.all(forked.map((f) => f.ready));
    } catch (err) {
      await Promise.all(forked.map((f) => retire(f.worker, 0)));
      throw err;
    }
    return forked.map((f) => f.worker);
  }

  /** The first generation. */
  async start(): Promise<void> {
    for (const w of await this.#generation()) this.#serve(w);
  }

  /**
   * Replace the serving generation: fork a new one, wait until every new
   * worker listens, then retire the old ones (SIGTERM, SIGKILL after
   * `stopTimeoutMs`) all at once. When the new generation fails, it is
   * stopped and the old one keeps serving; the error is thrown.
   */
  async roll(stopTimeoutMs: number): Promise<void> {
    if (this.#rolling === 'all') {
      const fresh = await this.#generation();
      if (this.#stopping) return void await Promise.all(fresh.map((w) => retire(w, 0)));
      const old = [...this.#serving];
      this.#serving = new Set();
      for (const w of fresh) this.#serve(w);
      await Promise.all(old.map((w) => retire(w, stopTimeoutMs)));
      return;
    }
    // One at a time: a new worker listens before an old one is retired. A new one
    // that fails stops the roll there: it is stopped, the workers not replaced yet keep serving.
    const old = [...this.#serving];
    for (const w of old) {
      if (this.#stopping) return;
      const [fresh] = await this.#generation(1);
      if (this.#stopping) return void await retire(fresh!, 0); // stopped meanwhile: it never serves
      this.#serve(fresh!);
      this.#serving.delete(w);
      await retire(w, stopTimeoutMs);
    }
  }

  /** Stop every worker, a reload's new ones included (SIGTERM, SIGKILL after `stopTimeoutMs`); none is forked again. */
  async stop(stopTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#serving.clear();
    await Promise.all([...this.#alive].map((w) => retire(w, stopTimeoutMs)));
  }
}

/** SIGTERM `w` (its own graceful stop runs: lifecycle() in the worker), SIGKILL after `ms`; resolves when it has exited. */
function retire(w: cluster.Worker, ms: number): Promise<void> {
  if (w.process.exitCode !== null || w.process.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => w.process.kill('SIGKILL'), ms);
    w.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    w.process.kill(ms === 0 ? 'SIGKILL' : 'SIGTERM');
  });
}
