// SPDX-License-Identifier: MIT
/**
 * One funnel for warnings: every warning sd-activate emits has a stable code
 * from {@link WarningCode}, a message that starts with `sd-activate: `, and goes
 * out as `process.emitWarning(message, { type: 'SdActivateWarning', code })`
 * unless the caller routes it elsewhere (`activate(config, { onWarning })`).
 *
 * @internal
 */

/**
 * Stable codes of every warning sd-activate emits (the `code` of the
 * `SdActivateWarning`):
 * - `SD_ACTIVATE_REJECTED_FD`: an inherited fd matched no listener; it was closed (sockets) or left alone (anything else);
 * - `SD_ACTIVATE_LISTEN_PID_MISMATCH`: LISTEN_FDS was set for another process (a wrapper such as `npm start`, `sh`, nodemon);
 * - `SD_ACTIVATE_MALFORMED_ENV`: LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES could not be parsed;
 * - `SD_ACTIVATE_UNAVAILABLE`: sockets were passed but the native addon could not load;
 * - `SD_ACTIVATE_MISSING_FDNAME`: sockets were passed, but none with the `fdname` a listener
 *   asks for, and it has no `port`/`path` to bind instead, so it will not listen;
 * - `SD_ACTIVATE_WATCHDOG_MALFORMED_ENV`: WATCHDOG_USEC / WATCHDOG_PID could not be parsed; no watchdog runs;
 * - `SD_ACTIVATE_NOTIFY_FAILED`: `lifecycle()` could not send READY=1, RELOADING=1 or STOPPING=1;
 * - `SD_ACTIVATE_RELOAD_FAILED`: the app's `onReload` of `lifecycle()` threw or rejected;
 * - `SD_ACTIVATE_STOP_FAILED`: the app's `onStop` of `lifecycle()` threw or rejected;
 * - `SD_ACTIVATE_ADDRESS_HELD`: a listener would bind itself an address the service manager
 *   holds (a rejected inherited socket): its `listen()` fails with `ERR_SD_ADDRESS_HELD`;
 * - `SD_ACTIVATE_REBIND_REFUSED`: `rebind()` of a listener serving inherited sockets was refused;
 * - `SD_ACTIVATE_SOCKET_PATH_GONE`: an adopted unix socket's path no longer leads to it
 *   (missing, or another kind of file there): clients cannot reach it by path;
 * - `SD_ACTIVATE_FDNAMES_IGNORED`: LISTEN_FDNAMES did not fit LISTEN_FDS; the sockets are
 *   matched by address with every name `unknown`;
 * - `SD_ACTIVATE_LISTEN_FAILED`: a listen given to `lifecycle()` failed; the process exits;
 * - `SD_ACTIVATE_STALE_SOCKET_KEPT`: `activation.listen()` did not remove a socket file at a
 *   path it binds, because its directory is not safe to remove in (writable by other users);
 * - `SD_ACTIVATE_SECOND_COPY`: two copies of sd-activate are loaded in one process; the one
 *   that took the sockets first decides, the other steps aside;
 * - `SD_ACTIVATE_PRELOAD_CONFIG`: a variable of the zero-code preload (`SD_ACTIVATE_*`) has a
 *   bad value; its default is used;
 * - `SD_ACTIVATE_ADOPT_FAILED`: the zero-code preload could not duplicate an inherited fd for a
 *   `listen()`; that call binds itself;
 * - `SD_ACTIVATE_PLAN_MISMATCH`: a cluster worker's `activate()` was given another configuration
 *   than its primary's plan (or no valid plan); it binds every listener itself;
 * - `SD_ACTIVATE_IDLE_EXIT_REFUSED`: an idle exit (`idleExitMs`, `SD_ACTIVATE_IDLE_EXIT_MS`) is off,
 *   because nothing would start the service again (no inherited sockets, a self-bound server,
 *   the fd store, no `.socket` unit); the service keeps running.
 */
export type WarningCode =
  | 'SD_ACTIVATE_REJECTED_FD'
  | 'SD_ACTIVATE_LISTEN_PID_MISMATCH'
  | 'SD_ACTIVATE_MALFORMED_ENV'
  | 'SD_ACTIVATE_UNAVAILABLE'
  | 'SD_ACTIVATE_MISSING_FDNAME'
  | 'SD_ACTIVATE_WATCHDOG_MALFORMED_ENV'
  | 'SD_ACTIVATE_NOTIFY_FAILED'
  | 'SD_ACTIVATE_RELOAD_FAILED'
  | 'SD_ACTIVATE_STOP_FAILED'
  | 'SD_ACTIVATE_ADDRESS_HELD'
  | 'SD_ACTIVATE_REBIND_REFUSED'
  | 'SD_ACTIVATE_SOCKET_PATH_GONE'
  | 'SD_ACTIVATE_FDNAMES_IGNORED'
  | 'SD_ACTIVATE_LISTEN_FAILED'
  | 'SD_ACTIVATE_STALE_SOCKET_KEPT'
  | 'SD_ACTIVATE_SECOND_COPY'
  | 'SD_ACTIVATE_PRELOAD_CONFIG'
  | 'SD_ACTIVATE_ADOPT_FAILED'
  | 'SD_ACTIVATE_PLAN_MISMATCH'
  | 'SD_ACTIVATE_IDLE_EXIT_REFUSED';

/** The prefix of every warning message. */
const PREFIX = 'sd-activate: ';

/** `text` with the {@link PREFIX} (added once). @internal */
export function warningText(text: string): string {
  return text.startsWith(PREFIX) ? text : PREFIX + text;
}

/**
 * Emit a warning the way every part of sd-activate does:
 * `process.emitWarning('sd-activate: ' + text, { type: 'SdActivateWarning', code })`.
 *
 * @internal
 */
export function warn(code: WarningCode, text: string): void {
  emit(warning(code, text));
}

/**
 * Why an inherited fd was not adopted (stable):
 * - `unreadable`: the fd could not be examined (e.g. not open);
 * - `not-a-socket`: a regular file, pipe, ...;
 * - `unsupported`: a socket Node cannot serve (unix datagram, seqpacket, other families);
 * - `not-listening`: a stream socket that does not listen (connected, `Accept=yes`);
 * - `kind-mismatch`: datagram socket for a stream listener or the reverse;
 * - `address-not-allowed`: the port (or name) fits a listener but the socket
 *   exposes more than the listener's `bind` allows;
 * - `no-listener`: no listener is configured for its port, path or name.
 */
export type RejectReason =
  | 'unreadable'
  | 'not-a-socket'
  | 'unsupported'
  | 'not-listening'
  | 'kind-mismatch'
  | 'address-not-allowed'
  | 'no-listener';

/** One warning, as `onWarning` receives it and a report lists it. */
export interface Warning<C extends WarningCode = WarningCode> {
  /** Stable code. */
  code: C;
  /** What happened, why, and what to change (starts with `sd-activate: `). */
  message: string;
  /** The fd concerned (`SD_ACTIVATE_REJECTED_FD`). */
  fd?: number;
  /** The fd in words, e.g. `tcp 0.0.0.0:8080 (listening)` (`SD_ACTIVATE_REJECTED_FD`). */
  socket?: string;
  /** Why it was rejected (`SD_ACTIVATE_REJECTED_FD`). */
  reason?: RejectReason;
}

/** Build a {@link Warning} (its message gets the prefix). @internal */
export function warning<C extends WarningCode>(code: C, text: string, extra: Omit<Warning, 'code' | 'message'> = {}): Warning<C> {
  return { code, message: warningText(text), ...extra };
}

/** Emit a {@link Warning} through `onWarning`, or {@link warn} by default. @internal */
export function emit(w: Warning, onWarning?: (w: Warning) => void): void {
  if (onWarning) onWarning({ ...w });
  else process.emitWarning(w.message, { type: 'SdActivateWarning', code: w.code });
}
