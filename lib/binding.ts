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
import path = require('node:path');
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
 * The functions every backend exports: exactly what the library calls
 * (test-only primitives live in a separate test addon). Numeric arguments
 * must be 32-bit integers and strings strings: anything else is a
 * `TypeError` (never silently wrapped, so fd `2 ** 32 + 3` is not fd 3).
 * Ranges and formats are checked by the TypeScript callers, not here.
 * @internal
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
   * `-errno`; on success `names` holds one name per fd. With `withNames`
   * false, `sd_listen_fds(0)`: LISTEN_FDNAMES is not read and `names` is
   * empty. Never touches the environment.
   */
  listenFds(withNames?: boolean): { result: number; names: string[] };
  /**
   * `sd_is_socket_inet(fd, family, type, listening, port)`; 0 = don't care,
   * listening -1 = don't care. port 0..65535: the caller checks the range
   * (the addon does not).
   */
  isSocketInet(fd: number, family: number, type: number, listening: number, port: number): number;
  /** `sd_is_socket_unix(fd, type, listening, path, 0)`; path `null` = don't care; `@x` abstract. */
  isSocketUnix(fd: number, type: number, listening: number, path: string | null): number;
  /** Probe an fd: a {@link RawSocketInfo}, or `-errno` (e.g. -EBADF). */
  describeSocket(fd: number): RawSocketInfo | number;
  /** close(2): 0 or `-errno`. */
  close(fd: number): number;
  /** `fcntl(fd, F_DUPFD_CLOEXEC, 3)`: a new close-on-exec fd for the same open file, or `-errno`. */
  dup(fd: number): number;
  /** fstat(2): `"st_dev:st_ino"` in decimal (the form of JOURNAL_STREAM), or `-errno`. */
  fileId(fd: number): string | number;
  /**
   * write(2) all of `text` (UTF-8) to `fd`: the bytes written, or `-errno`.
   * Partial writes continue, EINTR retries, a full non-blocking fd is
   * waited for, at most 1 s in all (then `-EAGAIN`, part of the text written).
   */
  writeText(fd: number, text: string): number;
  /** `sd_booted()`: 1, 0, or `-errno`. */
  booted(): number;
  /**
   * `sd_watchdog_enabled(0, &usec)`: result > 0 when enabled for this pid.
   * `usec` is a double: exact up to 2^53 µs (285 years).
   */
  watchdogEnabled(): { result: number; usec: number };
  /**
   * `sd_pid_notify_with_fds(pid, 0, state, fds)` semantics without ever
   * blocking: > 0 sent, `-errno` on failure (`-EAGAIN` at once when the
   * receiver's queue is full), 0 when there is nowhere to send. pid 0 = this
   * process; another pid's credentials go with the datagram where allowed.
   *
   * Without `address` (or with `undefined` / `null`) the datagram goes to
   * `NOTIFY_SOCKET`, read on every call, over one persistent connected socket;
   * 0 when it is unset. With `address` — an absolute path or an `@abstract`
   * name, as `NOTIFY_SOCKET` would hold it — it goes there on a socket of its
   * own, whatever `NOTIFY_SOCKET` says (which is neither read nor changed), so
   * the result is never 0; an address libsystemd would refuse as
   * `NOTIFY_SOCKET` gives the same error (`-EINVAL` for a relative path, an
   * empty text or a NUL byte, `-ENAMETOOLONG` for a path too long).
   */
  notify(pid: number, state: string, fds: number[], address?: string | null): number;
  /**
   * The sending half of `sd_notify_barrier(3)`: a fresh pipe, `BARRIER=1`
   * with its write end (to `address`, else `NOTIFY_SOCKET`), the write end
   * closed at once. `sent` 1: `fd` is the read end (close-on-exec), which hangs
   * up once the manager has closed its copy (the caller watches and closes
   * it); 0: nowhere to send; `-errno`: the send failed. `fd` is -1 unless sent.
   */
  barrierSend(address?: string | null): { sent: number; fd: number };
  /** `notify(0, state, [])`: the same send, with one argument (the hot path). */
  notifyState(state: string): number;
  /**
   * The `NOTIFY_SOCKET` text the persistent notify socket is connected to
   * (where the last `notify(0, ...)`/`notifyState()` without an address went),
   * or `undefined` when it is not connected.
   */
  notifyAddress(): string | undefined;
  /**
   * Start choosing the backend (libsystemd's `dlopen`) on a thread of its
   * own; the first use of the backend meanwhile waits for it. The choice is
   * the one a first use would make.
   */
  chooseBackendSoon(): void;
  /**
   * socket + setsockopt + bind (+ listen): returns the new fd (CLOEXEC) or `-errno`.
   * kind: `tcp`, `udp`, `unix`, `unix-dgram`, `seqpacket` (anything else: `-EINVAL`).
   * For inet, address is numeric and port 0..65535: the caller checks the
   * range (the addon does not).
   * backlog < 0 leaves a stream socket bound but not listening; v6only -1 is
   * the kernel default, 0 dual-stack, 1 IPv6 only.
   */
  openSocket(kind: string, address: string, port: number, backlog: number, v6only: number): number;
  /**
   * A notify receiver: an AF_UNIX datagram socket bound at `path` (`@name` for
   * abstract) with SO_PASSCRED, read on a thread of its own. `onMessage` runs
   * on the event loop with the datagram text, the sender pid (0 if unknown)
   * and any fds passed with it (CLOEXEC; the callback owns them).
   */
  NotifyReceiver: new (
    path: string,
    onMessage: (text: string, pid: number, fds: number[]) => void,
  ) => { close(): void; readonly fd: number };
  /**
   * A one-shot wait until one of `fds` is readable — a pending connection on
   * a listening socket, a datagram on a datagram socket — that neither
   * accepts nor reads, and leaves the fds' flags alone (no `O_NONBLOCK`: a
   * thread of its own blocks in poll(2)). `onReadable` runs once, on the event
   * loop, with the lowest-index fd that has an event (an error or hang-up
   * counts: whoever uses the socket next meets it), or `-errno` if poll itself
   * failed; then the thread ends. `close()` (idempotent, also after it fired)
   * stops it and drops a call not yet delivered; until then it keeps the event
   * loop alive. At most 1024 fds, each >= 0 (else a `TypeError`).
   */
  ReadableWatch: new (fds: number[], onReadable: (fd: number) => void) => { close(): void };
}

/** The error that kept the addon from loading, or `undefined` when it loaded (or was not loaded yet). */
let loadErr: Error | undefined;

function unavailable(): NativeBinding {
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
    dup: () => errno.ENOSYS,
    fileId: () => errno.ENOSYS,
    writeText: () => errno.ENOSYS,
    booted: () => 0,
    watchdogEnabled: () => ({ result: 0, usec: 0 }),
    notify: () => 0, // not sent, to NOTIFY_SOCKET or to an explicit address
    notifyState: () => 0,
    notifyAddress: () => undefined,
    chooseBackendSoon: () => {},
    barrierSend: () => ({ sent: 0, fd: -1 }), // nowhere to send
    openSocket: () => errno.ENOSYS,
    NotifyReceiver: class {
      readonly fd = -1;
      constructor() {
        throw Object.assign(new Error('sd-activate: native addon unavailable'), { code: 'ENOSYS' });
      }
      close(): void {}
    },
    ReadableWatch: class {
      constructor() {
        throw Object.assign(new Error('sd-activate: native addon unavailable'), { code: 'ENOSYS' });
      }
      close(): void {}
    },
  };
}

function load(): NativeBinding {
  if (process.platform !== 'linux') {
    // systemd is Linux-only: no addon is built or shipped for other systems.
    loadErr = new Error(`sd-activate's native addon is Linux-only (this is ${process.platform}-${process.arch})`);
    return unavailable();
  }
  try {
    // Required by path, not bundled: in the bundle the loader answers with its
    // copy of lib/addon.ts (lib/load.ts bundleRequire), elsewhere dist/addon.js.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.join(__dirname, 'addon.js')) as typeof import('./addon')).loadAddon() as NativeBinding;
  } catch (err) {
    loadErr = err instanceof Error ? err : new Error(String(err));
    return unavailable();
  }
}

/**
 * Why the addon did not load and the fix that applies to the package's user
 * (not to this repository): one sentence for warnings and the command's
 * errors, `''` when it loaded. @internal
 */
export function loadProblem(): string {
  const err = loadError();
  if (!err) return '';
  const reason = err.message.split('\n')[0] ?? '';
  if (process.platform !== 'linux') return `${reason}; systemd socket activation and notify exist on Linux only`;
  const fix = /No native build was found/.test(reason)
    ? `the package has no prebuilt binary for linux-${process.arch}; install a C++ compiler, make and python3, ` +
      'then run `npm rebuild sd-activate`'
    : 'rebuild it from source for this system: `npm rebuild sd-activate` (needs a C++ compiler, make and python3)';
  return `${reason}; ${fix}`;
}

let binding: NativeBinding | undefined;

/**
 * The addon, loaded on first use (or the unavailable fallback): a process
 * that never probes a socket or sends a notification never loads it. The
 * addon chooses its backend (and loads libsystemd) on first use too. @internal
 */
export function native(): NativeBinding {
  return binding ?? (binding = load());
}

/**
 * The addon if it is loaded already, else `undefined` (never loads it, and
 * never the unavailable stand-in): for a call with a Node fallback, made
 * through the addon only where it costs nothing to load. @internal
 */
export function loadedNative(): NativeBinding | undefined {
  return loadErr === undefined ? binding : undefined;
}

/** The error that kept the addon from loading (loading it first), or `undefined`. @internal */
export function loadError(): Error | undefined {
  native();
  return loadErr;
}

