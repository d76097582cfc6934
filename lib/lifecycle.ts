// SPDX-License-Identifier: MIT
/**
 * The service lifecycle in one call: `READY=1` once the servers listen,
 * `STOPPING=1` and a graceful close on SIGTERM, `RELOADING=1` /
 * `READY=1` around a reload hook on SIGHUP, and the watchdog pinger.
 *
 * @see sd_notify(3), systemd.service(5) `Type=notify`, `Type=notify-reload`
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import { invalid, type SystemError } from './errors';
import { storedPathServer } from './fdstore';
import { ready as sendReady, reloading as sendReloading, stopping as sendStopping, notify } from './notify';
import { intInRange, own } from './validate';
import type { ClusterOptions } from './cluster';
import { drain, IdleExit, isDgram, traffic } from './idle';
import { stderrLogger } from './journal';
import { warn, warningText } from './warnings';
import { startWatchdog, validate as validateWatchdog, type Watchdog, type WatchdogOptions } from './watchdog';
import { slot } from './slot';

/** lib/cluster.ts, loaded by a cluster primary's lifecycle() only. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterModule = (): typeof import('./cluster') => require('./cluster') as typeof import('./cluster');

/** A server the lifecycle waits for and closes: any `net.Server` (http, https, ...) or a `dgram.Socket`. */
export type LifecycleServer = net.Server | dgram.Socket;

/** Options of {@link lifecycle}. */
export interface LifecycleOptions {
  /**
   * Servers to wait for (READY=1 is sent once every one listens) and to close
   * gracefully on stop; an entry may be a promise of servers, such as
   * `activation.listen(...)` returns. When such a promise rejects, the failure
   * is logged (`SD_ACTIVATE_LISTEN_FAILED`, also on stderr) and the process
   * exits with the error's `exitCode` (78 for `ERR_SD_ADDRESS_HELD`), else 1
   * (`ready` then stays pending); with `exit: false`, `ready` rejects with it
   * instead, and a stop closes the servers of the promises that fulfilled.
   * Default: none (READY=1 on the next turn of the loop).
   */
  servers?: Array<LifecycleServer | PromiseLike<LifecycleServer | LifecycleServer[]>>;
  /** `STATUS=` sent with `READY=1`. */
  status?: string;
  /** Awaited after the servers listen and before `READY=1` (warm caches, run migrations, ...). */
  beforeReady?: () => unknown;
  /**
   * The reload hook: on the reload signal (or {@link Lifecycle.reload}),
   * `RELOADING=1` + `MONOTONIC_USEC=` is sent, this is awaited, then
   * `READY=1`. Given: the reload signal handler is installed.
   */
  onReload?: () => unknown;
  /** Awaited after the servers have closed, before exiting. */
  onStop?: () => unknown;
  /** Signals that start a graceful stop. Default `['SIGTERM']`; `[]` installs no handler. */
  stopSignals?: NodeJS.Signals[];
  /** The reload signal, handled only when `onReload` or `cluster` is given. Default `'SIGHUP'`; `null`: none. */
  reloadSignal?: NodeJS.Signals | null;
  /**
   * Run a `node:cluster` primary: fork `workers` workers with the activation's
   * plan ({@link forkWorker}), `READY=1` once every one listens, a worker that
   * dies forked again; on the reload signal (or {@link Lifecycle.reload}),
   * after `onReload`, a rolling reload: a new generation is forked, and once
   * every new worker listens the old ones are stopped gracefully (SIGTERM, so
   * their own `lifecycle()` closes their servers; SIGKILL after
   * `stopTimeoutMs`). A new generation that fails to listen within
   * `readyTimeoutMs` (or exits) is stopped and the old one keeps serving
   * (`READY=1` with `STATUS=Reload failed: ...`). On stop, no worker is forked
   * again; every one is stopped. The primary's own code is never reloaded.
   * Call it in the primary only; the workers run `lifecycle({ servers })`.
   */
  cluster?: ClusterOptions<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Start the watchdog pinger once ready (it is idle unless the unit has
   * `WatchdogSec=`); options are passed to {@link startWatchdog}. Default `true`.
   */
  watchdog?: boolean | WatchdogOptions;
  /**
   * How long the graceful close may take before open connections of http
   * servers are closed (`closeAllConnections()`), in ms. Default 10000.
   */
  stopTimeoutMs?: number;
  /**
   * Scale to zero: once ready, after this many ms with no open connection on
   * any server (a datagram restarts the wait), stop as on SIGTERM
   * (`STOPPING=1` with `STATUS=`, stop accepting, finish what is in flight
   * with `Connection: close`) and exit 0; the `.socket` unit starts the
   * service again on the next connection, which waits in the kernel's queue
   * meanwhile. Refused with a `SD_ACTIVATE_IDLE_EXIT_REFUSED` warning (and
   * the service keeps running) where nothing would start it again: no
   * inherited sockets, a server the process bound itself, sockets handed to
   * the fd store, a systemd service no `.socket` unit triggers (checked
   * with `systemctl show`), or a process that is neither a systemd service
   * nor run by `sd-activate --lazy`. Needs `servers` (1 to 2^31-1 ms); not
   * with `cluster`. With `exit: false` the servers close and the process is
   * left to exit by itself. Default: never.
   */
  idleExitMs?: number;
  /**
   * Call `process.exit()` once stopped (code `process.exitCode`, or 1 if
   * `onStop` threw). Default `true`, because handling SIGTERM replaces
   * Node's default of exiting; `false` leaves exiting to the app.
   */
  exit?: boolean;
}

/** The phase of a {@link Lifecycle}. */
export type LifecycleState = 'starting' | 'ready' | 'reloading' | 'stopping' | 'stopped';

/** What {@link lifecycle} returns. */
export interface Lifecycle {
  /**
   * Settles once `READY=1` has been handled: `true` sent, `false` not supported
   * (no `NOTIFY_SOCKET`, or stopped before ready); rejects with the send error
   * or the `beforeReady` error (a warning is emitted too, so an unawaited
   * rejection is not lost). Stays pending while a server has not started
   * listening (a listen error is the app's to handle: no `'error'` listener
   * is added to its servers).
   */
  readonly ready: Promise<boolean>;
  /** The current phase. */
  readonly state: LifecycleState;
  /** The watchdog pinger once started (see the `watchdog` option), else `undefined`. */
  readonly watchdog: Watchdog | undefined;
  /**
   * Reload now as on the reload signal: `RELOADING=1`, the hook, `READY=1`.
   * A reload requested while one runs is run once more afterwards; none
   * runs once stopping.
   */
  reload(): Promise<void>;
  /** Stop now as on a stop signal; the same promise for every call. */
  stop(): Promise<void>;
  /** Remove the signal handlers and stop the watchdog; sends nothing. */
  dispose(): void;
}

const RETRY_MS = 50;
const RETRY_FOR_MS = 2000;

/** Send with a short retry while the manager's queue is full (EAGAIN). @internal */
export async function send(fn: () => boolean): Promise<boolean> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if ((err as SystemError).code !== 'EAGAIN' || Date.now() >= deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
}


function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function listening(s: LifecycleServer): boolean {
  if (!isDgram(s)) return s.listening;
  try {
    s.address();
    return true;
  } catch {
    return false;
  }
}

/** `process.exitCode` as an exit status: 0 when unset. @internal */
export function exitStatusOf(code: string | number | null | undefined): number {
  return typeof code === 'number' ? code : code === undefined || code === null ? 0 : Number(code);
}

/**
 * Exit after the warnings emitted this turn were delivered (process.emitWarning
 * waits a tick). A cluster worker first says goodbye to its primary
 * (`worker.disconnect()`, whose acknowledgement comes after every message the
 * primary sent before): a round-robin primary may have handed it a connection
 * it has not read yet, and a worker that exited without answering would leave
 * that connection open in the primary, answered by no one. Now the worker
 * declines it and the primary hands it to another worker. @internal
 */
export function exitSoon(code: number): void {
  const exit = (): never => process.exit(code);
  const worker = process.connected ? (require('node:cluster') as import('node:cluster').Cluster).worker : undefined;
  if (!worker) return void setImmediate(exit);
  process.once('disconnect', () => setImmediate(exit));
  setTimeout(exit, 5000).unref(); // a primary that does not answer (blocked, gone) does not keep us
  worker.disconnect();
}

function isThenable(v: unknown): v is PromiseLike<LifecycleServer | LifecycleServer[]> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function checkServer(s: unknown): LifecycleServer {
  if (s === null || typeof s !== 'object' || typeof (s as { close?: unknown }).close !== 'function') {
    invalid('each server must be a net.Server (http, https, ...) or a dgram.Socket, or a promise of them');
  }
  return s as LifecycleServer;
}

function whenListening(s: LifecycleServer): Promise<void> {
  if (listening(s)) return Promise.resolve();
  return new Promise((resolve) => s.once('listening', () => resolve()));
}

function close(s: LifecycleServer): Promise<void> {
  return new Promise((resolve) => {
    if (isDgram(s)) {
      try {
        s.close(() => resolve());
      } catch {
        resolve(); // not running
      }
      return;
    }
    // Node unlinks a path it bound when the server closes: a stored one would be
    // unreachable after the restart. Leave it to the process exit.
    if (storedPathServer(s)) return resolve();
    drain(s); // what is in flight ends with Connection: close
    s.close(() => resolve()); // the callback gets ERR_SERVER_NOT_RUNNING when already closed: fine
    const http = s as net.Server & { closeIdleConnections?: () => void };
    if (typeof http.closeIdleConnections === 'function') http.closeIdleConnections();
  });
}

function checkCluster(c: unknown): ClusterOptions {
  const o = own(c as ClusterOptions, 'cluster options');
  if (o.activation === null || typeof o.activation !== 'object' || typeof (o.activation as { plan?: unknown }).plan !== 'function') {
    invalid('cluster.activation must be the Activation activate() returned');
  }
  if (o.workers !== undefined) intInRange(o.workers, 'cluster.workers', 1, 1024);
  if (o.readyTimeoutMs !== undefined && (typeof o.readyTimeoutMs !== 'number' || !(o.readyTimeoutMs > 0))) invalid('cluster.readyTimeoutMs must be a number > 0');
  if (o.schedulingPolicy !== undefined && o.schedulingPolicy !== 'none' && o.schedulingPolicy !== 'rr') invalid(`cluster.schedulingPolicy must be 'none' or 'rr' (got ${JSON.stringify(o.schedulingPolicy)})`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!(require('node:cluster') as { isPrimary: boolean }).isPrimary) invalid('the cluster option runs a primary: give it in the cluster primary only');
  return o;
}

/**
 * Close `servers` gracefully: stop accepting, close idle http connections,
 * let requests in flight finish; after `timeoutMs`, close every http
 * connection and give the servers a last second (a plain `net.Server` cannot
 * close connections it does not track), then resolve regardless.
 *
 * @internal
 */
export async function closeServers(servers: readonly LifecycleServer[], timeoutMs: number): Promise<void> {
  const closing = Promise.all(servers.map(close));
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const s of servers) {
        const http = s as net.Server & { closeAllConnections?: () => void };
        if (typeof http.closeAllConnections === 'function') http.closeAllConnections();
      }
      resolve();
    }, timeoutMs);
    timer.unref();
  });
  const grace = (): Promise<unknown> => Promise.race([closing, new Promise((r) => setTimeout(r, 1000).unref())]);
  await Promise.race([closing, forced.then(grace)]);
  if (timer) clearTimeout(timer);
}

/**
 * Tie the service's lifecycle to the manager in one call:
 *
 * - `READY=1` (with `status`) once every server listens and `beforeReady` resolved;
 * - on SIGTERM (`stopSignals`): `STOPPING=1`, `server.close()` on every server
 *   (and `closeIdleConnections()` for http; `closeAllConnections()` after
 *   `stopTimeoutMs`), `onStop`, then `process.exit()` unless `exit: false`.
 *   A server whose unix path Node bound and that was handed to the fd store
 *   is not closed (closing would unlink the path the stored socket is
 *   reachable at); the exit releases it;
 * - on SIGHUP, when `onReload` is given: `RELOADING=1` + `MONOTONIC_USEC=`,
 *   the hook, then `READY=1` (for `Type=notify-reload`); a failing hook is
 *   reported as `READY=1` with `STATUS=Reload failed: ...` and a warning;
 * - the watchdog pinger once ready (idle without `WatchdogSec=`);
 * - with `cluster`, in a `node:cluster` primary: the workers, forked with the
 *   activation's plan, `READY=1` once they listen, and a rolling replacement of
 *   them on reload (see {@link LifecycleOptions.cluster}).
 *
 * Nothing is installed at import; signal handlers only by this call, and only
 * for the signals named. Sending never blocks: a full manager queue is
 * retried for up to 2 s. Warnings (`process.emitWarning`, type
 * `SdActivateWarning`) have the codes `SD_ACTIVATE_NOTIFY_FAILED`,
 * `SD_ACTIVATE_RELOAD_FAILED` and `SD_ACTIVATE_STOP_FAILED` (a malformed
 * `WATCHDOG_USEC` is the watchdog's `SD_ACTIVATE_WATCHDOG_MALFORMED_ENV`).
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for bad options
 * @see sd_notify(3), systemd.service(5)
 * @example
 * ```ts
 * const server = http.createServer(app).listen(8080);
 * lifecycle({ servers: [server], onReload: () => config.load() });
 * ```
 */
export function lifecycle(options: LifecycleOptions = {}): Lifecycle {
  options = own(options, 'lifecycle options');
  const given = options.servers ?? [];
  if (!Array.isArray(given)) invalid('servers must be an array');
  const servers: LifecycleServer[] = [];
  const pending: Array<PromiseLike<LifecycleServer | LifecycleServer[]>> = [];
  for (const s of given) {
    if (isThenable(s)) pending.push(s);
    else servers.push(checkServer(s));
  }
  const stopSignals = options.stopSignals ?? ['SIGTERM'];
  const pool = options.cluster !== undefined ? new (clusterModule().WorkerPool)(checkCluster(options.cluster)) : undefined;
  const reloadSignal = options.onReload || pool ? (options.reloadSignal === undefined ? 'SIGHUP' : options.reloadSignal) : null;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10000;
  if (typeof stopTimeoutMs !== 'number' || !(stopTimeoutMs >= 0)) invalid('stopTimeoutMs must be a number >= 0');
  if (options.status !== undefined && (typeof options.status !== 'string' || options.status.includes('\n'))) {
    invalid('status must be a string without newlines');
  }
  if (typeof options.watchdog === 'object') validateWatchdog(options.watchdog);
  const idleExitMs = options.idleExitMs;
  if (idleExitMs !== undefined) {
    intInRange(idleExitMs, 'idleExitMs', 1, 2_147_483_647);
    if (pool) invalid('idleExitMs does not apply to a cluster primary (its workers hold the connections)');
    if (given.length === 0) invalid('idleExitMs needs servers: their connections say whether the service is idle');
  }
  let idle: IdleExit | undefined;
  const follow = (s: LifecycleServer): LifecycleServer => {
    if (!isDgram(s)) traffic(s);
    return s;
  };
  servers.forEach(follow);

  let state: LifecycleState = 'starting';
  let wd: Watchdog | undefined;
  let reloadRun: Promise<void> | undefined;
  let reloadAgain = false;
  let stopRun: Promise<void> | undefined;

  const onStopSignal = (): void => {
    void life.stop();
  };
  const onReloadSignal = (): void => {
    void life.reload();
  };
  for (const sig of stopSignals) process.on(sig, onStopSignal);
  if (reloadSignal) process.on(reloadSignal, onReloadSignal);
  const exitsOnTerm = stopSignals.includes('SIGTERM') && options.exit !== false;
  if (exitsOnTerm) slot().lifecycleExits = true;

  // Every listen promise settled, the servers of those that fulfilled added
  // (so a stop closes them even when another failed); the first failure, if any.
  const arrived: Promise<{ reason: unknown } | undefined> = Promise.allSettled(pending).then((results) => {
    let failed: { reason: unknown } | undefined;
    for (const r of results) {
      if (r.status === 'rejected') failed ??= { reason: r.reason };
      else {
        try {
          servers.push(...[r.value].flat().map(checkServer).map(follow));
        } catch (err) {
          failed ??= { reason: err };
        }
      }
    }
    return failed;
  });

  const readyPromise = (async () => {
    const failure = await arrived;
    if (failure) {
      listenFailed(failure.reason);
      // Exiting: `ready` stays pending (an app awaiting it must not see a rejection first).
      if (options.exit !== false) await new Promise(() => {});
      throw failure.reason;
    }
    await Promise.all(servers.map(whenListening));
    if (pool) await pool.start();
    if (options.beforeReady) await options.beforeReady();
    if (state !== 'starting') return false;
    const sent = await send(() => sendReady(options.status));
    state = 'ready';
    // Options were validated above, and a malformed WATCHDOG_USEC is the
    // watchdog's own warning (it then stays idle): this does not throw.
    if (options.watchdog !== false) wd = startWatchdog(typeof options.watchdog === 'object' ? options.watchdog : undefined);
    if (idleExitMs !== undefined) {
      idle = new IdleExit(idleExitMs, () => void stop(idleExitMs));
      for (const srv of servers) idle.add(srv);
      void idle.start();
    }
    return sent;
  })();
  readyPromise.catch((err: unknown) => {
    if (!failedListen) warn('SD_ACTIVATE_NOTIFY_FAILED', `READY=1 not sent: ${message(err)}`);
  });

  let failedListen = false;
  /** A listen given as a promise failed: say so where the operator looks, then exit with its status. */
  function listenFailed(err: unknown): void {
    failedListen = true;
    const code = (err as { exitCode?: unknown }).exitCode;
    const status = typeof code === 'number' ? code : 1;
    const text = `listen failed: ${err instanceof Error ? err.message : String(err)}`;
    warn('SD_ACTIVATE_LISTEN_FAILED', text);
    if (options.exit === false) return;
    stderrLogger.warn(warningText(`${text} (exiting with status ${status})`));
    try {
      notify({ STATUS: `listen failed: ${message(err).slice(0, 200)}` });
    } catch {
      // the manager is gone or busy: the exit status says it
    }
    life.dispose();
    exitSoon(status);
  }

  async function reloadOnce(): Promise<void> {
    state = 'reloading';
    try {
      await send(() => sendReloading());
    } catch (err) {
      warn('SD_ACTIVATE_NOTIFY_FAILED', `RELOADING=1 not sent: ${message(err)}`);
    }
    let failure: unknown;
    try {
      await options.onReload?.();
      if (pool) await pool.roll(stopTimeoutMs);
    } catch (err) {
      failure = err;
      warn('SD_ACTIVATE_RELOAD_FAILED', `reload failed: ${message(err)}`);
    }
    if (state !== 'reloading') return; // stopping meanwhile
    state = 'ready';
    try {
      await send(() => (failure === undefined
        ? sendReady()
        : notify({ READY: 1, STATUS: `Reload failed: ${message(failure)}` })));
    } catch (err) {
      warn('SD_ACTIVATE_NOTIFY_FAILED', `READY=1 not sent after reload: ${message(err)}`);
    }
  }

  const life: Lifecycle = {
    ready: readyPromise,
    get state() {
      return state;
    },
    get watchdog() {
      return wd;
    },
    reload(): Promise<void> {
      if (stopRun) return Promise.resolve();
      if (reloadRun) {
        reloadAgain = true;
        return reloadRun;
      }
      reloadRun = (async () => {
        await readyPromise.catch(() => {});
        do {
          reloadAgain = false;
          if (stopRun) break;
          await reloadOnce();
        } while (reloadAgain);
      })().finally(() => {
        reloadRun = undefined;
      });
      return reloadRun;
    },
    stop(): Promise<void> {
      return stop();
    },
    dispose(): void {
      if (exitsOnTerm) slot().lifecycleExits = false;
      for (const sig of stopSignals) process.off(sig, onStopSignal);
      if (reloadSignal) process.off(reloadSignal, onReloadSignal);
      wd?.stop();
      idle?.dispose();
    },
  };

  /** The stop; `idleMs` when it is the idle exit (said in STATUS= and on stderr, exit status 0). */
  function stop(idleMs?: number): Promise<void> {
    stopRun ??= (async () => {
      state = 'stopping';
      idle?.dispose();
      if (idleMs !== undefined) {
        stderrLogger.info(`sd-activate: idle for ${idleMs} ms (no open connection): exiting with status 0; the next connection starts the service again`);
      }
      try {
        await send(() => (idleMs === undefined ? sendStopping() : notify({ STOPPING: 1, STATUS: `Idle for ${idleMs} ms: exiting` })));
      } catch (err) {
        warn('SD_ACTIVATE_NOTIFY_FAILED', `STOPPING=1 not sent: ${message(err)}`);
      }
      await arrived; // servers still coming from listen promises are closed too
      await Promise.all([closeServers(servers, stopTimeoutMs), pool?.stop(stopTimeoutMs)]);
      let code = process.exitCode;
      try {
        await options.onStop?.();
      } catch (err) {
        warn('SD_ACTIVATE_STOP_FAILED', `onStop failed: ${message(err)}`);
        code = 1;
      }
      state = 'stopped';
      life.dispose();
      // An idle exit is a clean one: the socket unit starts the service again (Restart=on-failure leaves it alone).
      if (options.exit !== false) exitSoon(idleMs !== undefined && code !== 1 ? 0 : exitStatusOf(code));
    })();
    return stopRun;
  }
  return life;
}
