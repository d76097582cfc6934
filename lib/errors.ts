// SPDX-License-Identifier: MIT
/**
 * One error funnel: a negative errno from the native layer becomes a
 * Node-style system error (`code`, `errno`, `syscall`), and policy refusals
 * become {@link SdActivateError}s with stable string codes.
 */
import util = require('node:util');

/** A failed system call, shaped like Node's own system errors. */
export interface SystemError extends Error {
  /** Symbolic errno name, e.g. `EBADF`, `EINVAL`, `EAGAIN`. */
  code: string;
  /** Negative errno, as Node reports it (e.g. -9 for EBADF). */
  errno: number;
  /** The sd-daemon(3) function or system call that failed, e.g. `sd_listen_fds`. */
  syscall: string;
}

/**
 * Stable codes for sd-activate's own refusals and warnings.
 *
 * - `ERR_SD_INVALID_ARGUMENT`: a value that would corrupt the protocol or is the wrong type.
 * - `ERR_SD_UNKNOWN_LISTENER`: a listener name that was not configured.
 * - `ERR_SD_REBIND_INHERITED`: re-binding a listener whose socket the service manager owns.
 * - `ERR_SD_BARRIER_TIMEOUT`: the service manager did not confirm a barrier in time.
 * - `ERR_SD_ALREADY_ACTIVATED`: `activate()` called again with a different configuration.
 * - `ERR_SD_ALREADY_LISTENING`: `activation.listen()` called again for a listener whose inherited sockets already serve.
 * - `ERR_SD_ADDRESS_HELD`: a listener would bind an address the service manager holds
 *   (a rejected inherited socket): the `.socket` unit and the app disagree. A
 *   configuration error: its `exitCode` is {@link EX_CONFIG}.
 */
export type SdErrorCode =
  | 'ERR_SD_INVALID_ARGUMENT'
  | 'ERR_SD_UNKNOWN_LISTENER'
  | 'ERR_SD_REBIND_INHERITED'
  | 'ERR_SD_BARRIER_TIMEOUT'
  | 'ERR_SD_ALREADY_ACTIVATED'
  | 'ERR_SD_ALREADY_LISTENING'
  | 'ERR_SD_ADDRESS_HELD';

/**
 * The exit status for a configuration error, `EX_CONFIG` of sysexits.h (78).
 * With `RestartPreventExitStatus=78` in the unit, `Restart=` does not restart
 * a service into the same conflict.
 *
 * @see systemd.service(5) `RestartPreventExitStatus=`
 */
export const EX_CONFIG = 78;

/**
 * An error raised by sd-activate's policy (not by a system call). Its `code`
 * is one of {@link SdErrorCode} and never changes between versions.
 */
export class SdActivateError extends Error {
  /** Stable machine-readable code. */
  readonly code: SdErrorCode;
  /**
   * The exit status a process should end with on this error, where it is a
   * configuration error ({@link EX_CONFIG}); else `undefined`.
   */
  readonly exitCode: number | undefined;

  /**
   * @param code - stable code
   * @param message - what happened and what to do about it
   * @param exitCode - the exit status for a configuration error
   */
  constructor(code: SdErrorCode, message: string, exitCode?: number) {
    super(message);
    this.name = 'SdActivateError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** errno → its name and text, filled on first use of each. */
const errnoNames = new Map<number, { code: string; text: string }>();

/**
 * The symbolic name and text of an errno: `{ code: 'EADDRINUSE', text: 'address already in use' }`.
 *
 * @param result - a `-errno` (a positive errno is accepted too)
 * @internal
 */
export function errnoName(result: number): { code: string; text: string } {
  const errno = -Math.abs(result);
  let known = errnoNames.get(errno);
  if (known === undefined) {
    let code: string;
    try {
      code = util.getSystemErrorName(errno);
    } catch {
      code = `E${-errno}`;
    }
    // getSystemErrorMap() builds the whole map on every call: once per errno is enough.
    known = { code, text: util.getSystemErrorMap().get(errno)?.[1] ?? 'unknown error' };
    errnoNames.set(errno, known);
  }
  return known;
}

/**
 * Build a {@link SystemError} from a negative errno.
 *
 * @param result - the raw `-errno` (a positive errno is accepted too)
 * @param syscall - the sd-daemon(3) function or system call that failed
 * @param detail - optional context appended to the message (e.g. `fd 3`)
 * @param frames - how many stack frames to capture (at most Node's `Error.stackTraceLimit`)
 */
export function systemError(result: number, syscall: string, detail?: string, frames = 3): SystemError {
  const errno = -Math.abs(result);
  const { code, text } = errnoName(errno);
  // A short stack (the caller's frames): capturing Node's default 10 was most of a
  // failed send's cost.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.min(limit, frames);
  const err = new Error(`${syscall} failed: ${code} (${text})${detail ? `: ${detail}` : ''}`) as SystemError;
  Error.stackTraceLimit = limit;
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  return err;
}

/**
 * Return `result` when it is not negative; otherwise throw it as a
 * {@link SystemError}.
 *
 * @throws {@link SystemError} when `result < 0`
 */
export function check(result: number, syscall: string, detail?: string): number {
  if (result < 0) throw systemError(result, syscall, detail);
  return result;
}

/** Throw an `ERR_SD_INVALID_ARGUMENT` {@link SdActivateError}. */
export function invalid(message: string): never {
  throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', message);
}
