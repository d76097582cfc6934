// SPDX-License-Identifier: MIT
/**
 * Service-manager notifications: `sd_notify(3)` typed, one datagram per call,
 * never blocking the event loop, plus an asynchronous `sd_notify_barrier(3)`.
 *
 * Every sending function has the same three-way result:
 *
 * - `false`: not supported here — `NOTIFY_SOCKET` is unset (not started by a
 *   service manager, or `Type=` is not `notify`), or the native addon is
 *   unavailable. Never throws for this: outside systemd is the normal case.
 * - `true`: the datagram was handed to the kernel for the manager's socket.
 * - throws a {@link SystemError} (syscall `sd_notify`) when sending failed:
 *   `EAGAIN` when the manager's queue is full (the call fails at once instead of
 *   blocking), `ENOENT` / `ECONNREFUSED` when nothing listens at
 *   `NOTIFY_SOCKET`, `EINVAL` when `NOTIFY_SOCKET` is neither an absolute path
 *   nor an `@abstract` name.
 *
 * A burst of datagrams faster than the manager reads them can meet a full
 * queue (the kernel queues at most `net.unix.max_dgram_qlen`, often 10,
 * datagrams per receiver): that is `EAGAIN`, by design — retry a little later,
 * or await {@link barrier} between bursts. libsystemd's `sd_notify` would block
 * the whole event loop there instead.
 *
 * Values that would corrupt the protocol are refused before anything is sent
 * with an {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT`.
 *
 * @see sd_notify(3)
 */
import net = require('node:net');
import os = require('node:os');
import { loadError, native } from './binding';
import { invalid, SdActivateError, systemError, type SystemError } from './errors';
import { fieldValue, formatState, type NotifyValue } from './notify-state';

export type { NotifyValue } from './notify-state';
import { hiddenNotifySocket, slot } from './slot';
import { integer, intInRange, msToUsec, own } from './validate';



/** Options of {@link notify} and the helpers built on it. */
export interface NotifyOptions {
  /**
   * File descriptors to pass along (SCM_RIGHTS), e.g. for `FDSTORE=1`. The
   * manager receives duplicates; this process keeps its own.
   */
  fds?: number[];
  /**
   * Send on behalf of another process (`sd_pid_notify(3)`): the credentials
   * carry this pid. Needs privileges unless it is this process's own pid.
   * Default: this process.
   */
  pid?: number;
  /**
   * Delete `process.env.NOTIFY_SOCKET` after this call (after sending, whether
   * or not that worked; not when the arguments were refused), so neither
   * later calls nor child processes talk to the manager. Default `false`: the
   * variable is kept for later calls.
   */
  unsetEnvironment?: boolean;
}

function fdList(fds: unknown): number[] {
  if (fds === undefined) return [];
  if (!Array.isArray(fds)) invalid('fds must be an array of file descriptors');
  for (const fd of fds) intInRange(fd, 'each fd', 0, 0x7fffffff);
  return fds as number[];
}

/**
 * Send one datagram with one or more fields to the service manager:
 * `sd_pid_notify_with_fds(3)`. Fields are sent in the object's order, one
 * `NAME=value` per line. The send is non-blocking: a manager that is not
 * reading makes it fail with `EAGAIN` at once.
 *
 * @param fields - `{ NAME: value, ... }`, or the raw datagram text (`"READY=1\nSTATUS=up"`)
 * @returns `true` when sent; `false` when `NOTIFY_SOCKET` is unset (not supported)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for an empty field
 *   name or one containing `=` or a newline, a value containing a newline, a
 *   bad pid or fd
 * @throws {@link SystemError} (syscall `sd_notify`) when sending failed, e.g.
 *   `EAGAIN`, `ECONNREFUSED`, `ENOENT`, `EINVAL`
 * @see sd_notify(3)
 * @example
 * ```ts
 * notify({ READY: 1, STATUS: 'Serving on :8080' });
 * notify({ CUSTOM_FIELD: 'x' }, { unsetEnvironment: true });
 * ```
 */
export function notify(fields: Record<string, NotifyValue> | string, options: NotifyOptions = {}): boolean {
  options = own(options, 'notify options');
  const state = formatState(fields);
  const fds = fdList(options.fds);
  const pid = options.pid === undefined ? 0 : intInRange(options.pid, 'pid', 1, 0x7fffffff);
  if (!options.unsetEnvironment) return send(pid, state, fds);
  const hidden = hiddenNotifySocket();
  const address = hidden ?? process.env.NOTIFY_SOCKET;
  let r: number;
  try {
    r = hidden === undefined ? native().notify(pid, state, fds) : native().notify(pid, state, fds, hidden);
  } finally {
    delete process.env.NOTIFY_SOCKET;
    if (hidden !== undefined) slot().notifySocket = undefined;
  }
  if (r < 0) throw systemError(r, 'sd_notify', sentTo(state, address), 0);
  return r > 0;
}

const NO_FDS: number[] = [];

/**
 * Send a validated state; the hot path of every helper (process.env is read
 * only on failure).
 */
function send(pid: number, state: string, fds: number[] = NO_FDS): boolean {
  const r = sendState(pid, state, fds);
  if (r < 0) throw sendError(r, state);
  return r > 0;
}

/**
 * The addon's result for a validated state: > 0 sent, 0 nowhere to send,
 * `-errno`. It goes to `NOTIFY_SOCKET`, or where the zero-code preload moved
 * it (out of the environment, so child processes do not inherit it).
 */
function sendState(pid: number, state: string, fds: number[]): number {
  const hidden = hiddenNotifySocket();
  return hidden !== undefined ? native().notify(pid, state, fds, hidden)
    : pid === 0 && fds.length === 0 ? native().notifyState(state) : native().notify(pid, state, fds);
}

/**
 * The error of a failed send, naming where it went: the addon's connected
 * address, the environment only when the send had no connection (reading
 * process.env was a third of the cost of a failed send).
 */
function sendError(r: number, state: string): SystemError {
  return systemError(r, 'sd_notify', sentTo(state, hiddenNotifySocket() ?? native().notifyAddress() ?? process.env.NOTIFY_SOCKET), 0);
}

/**
 * What a failed send sent where, for its {@link SystemError}, which has no
 * stack: EAGAIN from a full manager queue is an expected, hot failure.
 */
function sentTo(state: string, address: string | undefined): string {
  const nl = state.indexOf('\n');
  return `${nl < 0 ? state : state.slice(0, nl)} to NOTIFY_SOCKET=${address ?? ''}`;
}

function withStatus(fields: Record<string, NotifyValue>, status: string | undefined): Record<string, NotifyValue> {
  if (status !== undefined) fields.STATUS = status;
  return fields;
}

/**
 * Tell the manager start-up is finished (`READY=1`), optionally with a status
 * line in the same datagram. For `Type=notify` and `Type=notify-reload`.
 *
 * @returns `true` sent, `false` not supported (see {@link notify})
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a status with a newline
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * server.listen(8080, () => ready('Listening on :8080'));
 * ```
 */
export function ready(status?: string): boolean {
  return notify(withStatus({ READY: 1 }, status));
}

/**
 * Set the free-form status line shown by `systemctl status` (`STATUS=`).
 * An empty string clears it.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` when `text` contains a newline
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * status(`${connections} connections`);
 * ```
 */
export function status(text: string): boolean {
  if (typeof text !== 'string') invalid('status must be a string');
  // Sent and thrown here rather than through send(): a full manager queue
  // (EAGAIN) is an expected failure of a hot call, and every frame a throw
  // unwinds costs (bench/notify-eagain.js).
  const state = `STATUS=${fieldValue(text, 'the value of STATUS')}`;
  const r = sendState(0, state, NO_FDS);
  if (r < 0) throw sendError(r, state);
  return r > 0;
}

/**
 * Tell the manager the service is shutting down (`STOPPING=1`), optionally
 * with a status line.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a status with a newline
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * process.on('SIGTERM', () => { stopping('Draining'); server.close(); });
 * ```
 */
export function stopping(status?: string): boolean {
  return notify(withStatus({ STOPPING: 1 }, status));
}

/**
 * The current `CLOCK_MONOTONIC` time in microseconds, as systemd expects in
 * `MONOTONIC_USEC=`. Node's `process.hrtime.bigint()` is libuv's
 * `uv_hrtime()`, which reads `CLOCK_MONOTONIC` on Linux (checked against
 * Python's `time.clock_gettime(CLOCK_MONOTONIC)` in the tests).
 */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/**
 * Tell the manager a configuration reload has begun: `RELOADING=1` with
 * `MONOTONIC_USEC=` (now, `CLOCK_MONOTONIC`), as `Type=notify-reload` requires.
 * Send {@link ready} when the reload is done.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a status with a newline
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3), systemd.service(5) `Type=notify-reload`
 * @example
 * ```ts
 * process.on('SIGHUP', async () => { reloading(); await loadConfig(); ready(); });
 * ```
 */
export function reloading(status?: string): boolean {
  return notify(withStatus({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec() }, status));
}

/**
 * Tell the manager which process is the main one (`MAINPID=`), e.g. after a
 * re-exec or when a supervisor reports for its child.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` unless `pid` is an integer >= 1
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * mainPid(child.pid);
 * ```
 */
export function mainPid(pid: number): boolean {
  return notify({ MAINPID: integer(pid, 'pid', 1) });
}

/**
 * Report why the service failed, as an errno (`ERRNO=`). Takes a number or a
 * symbolic name such as `'ENOENT'`.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a negative or
 *   non-integer number, or an unknown errno name
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * errno('EADDRINUSE'); // ERRNO=98
 * ```
 */
export function errno(n: number | string): boolean {
  let value: number;
  if (typeof n === 'string') {
    const known = (os.constants.errno as Record<string, number | undefined>)[n];
    if (known === undefined) invalid(`unknown errno name ${JSON.stringify(n)}`);
    value = known;
  } else {
    value = integer(n, 'errno');
  }
  return notify({ ERRNO: value });
}

/**
 * Ask the manager for more time for the current start-up, reload or stop
 * (`EXTEND_TIMEOUT_USEC=`): the operation may take `ms` more from now.
 * Repeat before it runs out.
 *
 * @param ms - milliseconds (>= 0; fractions are rounded to whole microseconds)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a negative or non-finite `ms`
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * extendTimeout(30_000); // migrations may take another 30 s
 * ```
 */
export function extendTimeout(ms: number): boolean {
  return notify({ EXTEND_TIMEOUT_USEC: msToUsec(ms, 'extendTimeout') });
}

/**
 * Wait until the service manager has processed every notification sent
 * before it: `sd_notify_barrier(3)`. Sends `BARRIER=1` with the write end of
 * a fresh pipe and resolves once the manager has closed its copy.
 *
 * Never blocks the event loop and uses no thread-pool thread: the datagram is
 * sent non-blocking (a full queue rejects with `EAGAIN` at once) and the
 * pipe's read end is an ordinary Node socket, which ends at the hang-up.
 * (libsystemd's `sd_notify_barrier` on a worker thread would block that
 * thread in `sendmsg` while the manager's queue is full — and a thread stuck
 * there keeps the process from exiting.)
 *
 * @param timeoutMs - how long to wait for the manager (default 5000)
 * @returns `true` once confirmed; `false` when not supported (`NOTIFY_SOCKET` unset)
 * @throws (rejects) {@link SdActivateError} `ERR_SD_BARRIER_TIMEOUT` when not confirmed in time
 * @throws (rejects) {@link SystemError} (syscall `sd_notify`) when sending failed, e.g. `EAGAIN`
 * @throws (rejects) {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a bad timeout
 * @see sd_notify_barrier(3)
 * @example
 * ```ts
 * status('migrated'); await barrier(); process.exit(0); // the manager saw the status
 * ```
 */
export function barrier(timeoutMs = 5000): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      invalid(`barrier timeout must be a number of milliseconds >= 0 (got ${String(timeoutMs)})`);
    }
    const hidden = hiddenNotifySocket();
    if ((hidden === undefined && process.env.NOTIFY_SOCKET === undefined) || loadError() !== undefined) return resolve(false);
    const { sent, fd } = native().barrierSend(hidden ?? null);
    if (sent === 0) return resolve(false);
    if (sent < 0) throw systemError(sent, 'sd_notify', sentTo('BARRIER=1', hidden ?? process.env.NOTIFY_SOCKET), 0);
    // The read end, on the event loop: it ends (EOF) once the manager has closed its copy.
    const pipe = new net.Socket({ fd, readable: true, writable: false });
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
        pipe.off('close', onClose);
        pipe.destroy();
        reject(new SdActivateError('ERR_SD_BARRIER_TIMEOUT', `the service manager did not confirm BARRIER=1 within ${timeoutMs} ms`));
      }, timeoutMs)
      : undefined;
    const onClose = (): void => {
      if (timer) clearTimeout(timer);
      resolve(true);
    };
    pipe.on('error', () => {}); // a hang-up reported as an error is as good as the end here
    pipe.once('close', onClose);
    pipe.resume();
  });
}
