// SPDX-License-Identifier: MIT
/**
 * Loads the native addon (`build/Release/sd_activate.node` or a prebuild under
 * `prebuilds/`) with node-gyp-build. Where it cannot load (not Linux, no
 * matching prebuild and no compiler), an "unavailable" backend with the same
 * shape takes its place: nothing is inherited, notify reports "not sent", and
 * the load error is kept in {@link loadError} for diagnostics — never printed.
 *
 * The native layer is a typed pass-through: it takes primitives and returns
 * raw results (a count, 0/1, or `-errno`). Validation, defaults and errors
 * live in TypeScript (see `errors.ts`).
 *
 * @internal
 */
import * as path from 'node:path';
import { errno } from './errno';

/** Which implementation of the sd-daemon protocols runs. */
export type BackendName = 'libsystemd' | 'builtin' | 'unavailable';

/** What `describeSocket` reports for one fd. @internal */
export interface RawSocketInfo {
  /** `socket`, `fifo`, `file`, `chr`, `dir`, `blk`, `symlink` or `other`. */
  fileType: string;
  /** `inet`, `inet6`, `unix`, `other`, or `''` when not a socket. */
  family: string;
  /** `stream`, `dgram`, `seqpacket`, `other`, or `none` when not a socket. */
  type: string;
  /** SO_ACCEPTCONN. */
  listening: boolean;
  /** Numeric local address (`127.0.0.1`, `::`, `fe80::1%eth0`) for inet sockets. */
  address: string;
  /** Local port for inet sockets, 0 otherwise. */
  port: number;
  /** Unix socket path; abstract names as `@name`; unnamed as `''`. */
  path: string;
  /** IPV6_V6ONLY for inet6 sockets (false for others). */
  v6only: boolean;
}

/**
 * The functions every backend exports. Numeric arguments must be 32-bit
 * integers and strings strings: anything else is a `TypeError` (never
 * silently wrapped, so fd `2 ** 32 + 3` is not fd 3). @internal
 */
export interface NativeBinding {
  /** `libsystemd` or `builtin` (or `unavailable` for the fallback). */
  readonly backend: BackendName;
  /** How libsystemd is reached: `linked`, `dlopen`, or `none`. */
  readonly linkage: 'linked' | 'dlopen' | 'none';
  /** libsystemd version when known (e.g. `252`), else `''`. */
  readonly libsystemdVersion: string;
  /** Path of the libsystemd shared object in use, else `''`. */
  readonly libsystemdPath: string;
  /**
   * `sd_listen_fds_with_names(0, &names)`: returns the count (>= 0) or
   * `-errno`; on success `names` holds one name per fd. Never touches the
   * environment.
   */
  listenFds(): { result: number; names: string[] };
  /** `sd_is_socket_inet(fd, family, type, listening, port)`; 0 = don't care, listening -1 = don't care. */
  isSocketInet(fd: number, family: number, type: number, listening: number, port: number): number;
  /** `sd_is_socket_unix(fd, type, listening, path, 0)`; path `null` = don't care; `@x` abstract. */
  isSocketUnix(fd: number, type: number, listening: number, path: string | null): number;
  /** Probe an fd: a {@link RawSocketInfo}, or `-errno` (e.g. -EBADF). */
  describeSocket(fd: number): RawSocketInfo | number;
  /** close(2): 0 or `-errno`. */
  close(fd: number): number;
  /** `sd_booted()`: 1, 0, or `-errno`. */
  booted(): number;
  /**
   * `sd_watchdog_enabled(0, &usec)`: result > 0 when enabled for this pid.
   * `usec` is a double: exact up to 2^53 µs (285 years).
   */
  watchdogEnabled(): { result: number; usec: number };
  /**
   * `sd_pid_notify_with_fds(pid, 0, state, fds)` semantics over a persistent,
   * non-blocking connected socket: 0 when NOTIFY_SOCKET is unset, > 0 sent,
   * `-errno` on failure (`-EAGAIN` when the receiver's queue is full).
   * pid 0 = this process.
   */
  notify(pid: number, state: string, fds: number[]): number;
  /**
   * The backend's own blocking notify (libsystemd's `sd_pid_notify_with_fds`
   * or the builtin equivalent) run on a worker thread. Resolves to the raw result.
   * While the receiver's queue is full it holds a libuv thread-pool thread
   * (the send blocks), so it is for comparisons and tests, not for apps.
   */
  notifyAsync(pid: number, state: string, fds: number[]): Promise<number>;
  /**
   * `sd_notify_barrier(0, timeoutUsec)` semantics: `BARRIER=1` with a pipe's
   * write end goes out at once through the same non-blocking sender as
   * {@link NativeBinding.notify} (`-EAGAIN` when the receiver's queue is full,
   * instead of a send blocking a worker thread), then the wait for the
   * manager to close its copy runs on a worker thread. Resolves to 1, 0 (no
   * NOTIFY_SOCKET), `-ETIMEDOUT`, or the send's `-errno`. A negative timeout
   * waits forever.
   */
  barrier(timeoutUsec: number): Promise<number>;
  /**
   * socket + setsockopt + bind (+ listen): returns the new fd (CLOEXEC) or `-errno`.
   * kind: `tcp`, `udp`, `unix`, `unix-dgram`, `seqpacket`. For inet, address is numeric.
   */
  openSocket(kind: string, address: string, port: number, backlog: number, v6only: number): number;
  /**
   * A notify receiver: an AF_UNIX datagram socket bound at `path` (`@name` for
   * abstract) with SO_PASSCRED, polled on the event loop. `onMessage` gets the
   * datagram text, the sender pid (0 if unknown) and any fds passed with it.
   */
  NotifyReceiver: new (
    path: string,
    onMessage: (text: string, pid: number, fds: number[]) => void,
  ) => { close(): void; readonly fd: number };
}

/** The error that kept the addon from loading, or `undefined` when it loaded. */
export let loadError: Error | undefined;

function unavailable(): NativeBinding {
  const none = Promise.resolve(0);
  return {
    backend: 'unavailable',
    linkage: 'none',
    libsystemdVersion: '',
    libsystemdPath: '',
    listenFds: () => ({ result: 0, names: [] }),
    isSocketInet: () => errno.ENOSYS,
    isSocketUnix: () => errno.ENOSYS,
    describeSocket: () => errno.ENOSYS,
    close: () => errno.ENOSYS,
    booted: () => 0,
    watchdogEnabled: () => ({ result: 0, usec: 0 }),
    notify: () => 0,
    notifyAsync: () => none,
    barrier: () => none,
    openSocket: () => errno.ENOSYS,
    NotifyReceiver: class {
      readonly fd = -1;
      constructor() {
        throw Object.assign(new Error('sd-activate: native addon unavailable'), { code: 'ENOSYS' });
      }
      close(): void {}
    },
  };
}

function load(): NativeBinding {
  const root = path.join(__dirname, '..');
  try {
    // node-gyp-build looks in build/Release first too; going there directly
    // saves loading and running its lookup (about 2 ms at import) for source
    // builds. Prebuilds, and PREBUILDS_ONLY, go through node-gyp-build.
    if (!process.env.PREBUILDS_ONLY) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(path.join(root, 'build', 'Release', 'sd_activate.node')) as NativeBinding;
      } catch (err) {
        if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as (dir: string) => NativeBinding;
    return gypBuild(root);
  } catch (err) {
    loadError = err instanceof Error ? err : new Error(String(err));
    return unavailable();
  }
}

/** The loaded binding (or the unavailable fallback). @internal */
export const native: NativeBinding = load();
