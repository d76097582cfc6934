// SPDX-License-Identifier: MIT
/**
 * sd-daemon(3)'s socket functions, typed: the inherited fds (consumed once and
 * cached), `sd_is_socket_inet`/`sd_is_socket_unix`, and a socket probe.
 */
import type * as dgram from 'node:dgram';
import fs = require('node:fs');
import net = require('node:net');
import { loadedNative, native, type RawSocketInfo } from './binding';
import { errno } from './errno';
import { check, invalid, systemError, type SystemError } from './errors';
import { fdArg, intInRange, own } from './validate';

/** The first inherited fd, `SD_LISTEN_FDS_START`. @see sd_listen_fds(3) */
export const LISTEN_FDS_START = 3;

/** The activation variables sd-activate reads and (by default) removes. */
export const LISTEN_ENV = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;

/** One file descriptor passed by the service manager. */
export interface InheritedFd {
  /** The fd number: 3, 4, ... */
  fd: number;
  /** Its name from LISTEN_FDNAMES (`FileDescriptorName=`, `FDNAME=`), or `unknown`. */
  name: string;
}

/** Options of {@link listenFds}. */
export interface ListenFdsOptions {
  /**
   * Remove LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from `process.env` so
   * child processes neither see them nor mistake their own fds 3, 4, ... for
   * sockets. Default `true`. Only the first call decides.
   */
  unsetEnvironment?: boolean;
}

/** What consuming the activation environment found. @internal */
export interface Consumed {
  /** The fds, when the environment was for this process and well formed. */
  fds: InheritedFd[];
  /** Set when `sd_listen_fds_with_names` failed (malformed LISTEN_*). */
  error?: SystemError;
  /**
   * When only the names failed (LISTEN_FDNAMES did not fit LISTEN_FDS, which
   * `sd_listen_fds` itself accepted and marked close-on-exec): the fds, every
   * name `unknown`, for the policy layer to match by address.
   */
  unnamed?: InheritedFd[];
  /** The variables as they were before consumption. */
  env: Partial<Record<(typeof LISTEN_ENV)[number], string>>;
}

let consumed: Consumed | undefined;

/** Read (once) and cache the activation environment. @internal */
export function consume(options: ListenFdsOptions = {}): Consumed {
  if (consumed) return consumed;
  options = own(options, 'listenFds options');
  const env: Consumed['env'] = {};
  for (const k of LISTEN_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  // Without LISTEN_PID, sd_listen_fds() returns 0 before reading anything else:
  // answer that here, and a process started without sockets never loads the addon.
  const { result, names } = env.LISTEN_PID === undefined ? { result: 0, names: [] } : native().listenFds();
  consumed = { fds: [], env };
  if (result < 0) {
    consumed.error = systemError(result, 'sd_listen_fds_with_names',
      `LISTEN_FDS=${JSON.stringify(env.LISTEN_FDS)} LISTEN_FDNAMES=${JSON.stringify(env.LISTEN_FDNAMES)}`);
    if (result === errno.EINVAL && env.LISTEN_FDNAMES !== undefined) {
      const n = native().listenFds(false).result;
      if (n > 0) consumed.unnamed = Array.from({ length: n }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: 'unknown' }));
    }
  } else {
    for (let i = 0; i < result; i++) {
      consumed.fds.push({ fd: LISTEN_FDS_START + i, name: names[i] ?? 'unknown' });
    }
  }
  if (options.unsetEnvironment !== false) for (const k of LISTEN_ENV) delete process.env[k];
  return consumed;
}

/**
 * The file descriptors the service manager passed to this process, with
 * their names: `sd_listen_fds_with_names(3)`. The environment is read on the
 * first call only (and removed unless `unsetEnvironment: false`); later calls
 * return the same list. Each fd has FD_CLOEXEC set.
 *
 * Returns `[]` when nothing was passed or LISTEN_PID names another process.
 *
 * @throws {@link SystemError} (syscall `sd_listen_fds_with_names`, the
 *   libsystemd result as is): `EINVAL` when LISTEN_PID / LISTEN_FDS are not
 *   numbers, LISTEN_FDS is 0 or negative, or LISTEN_FDNAMES has a different
 *   count or a trailing backslash; `ERANGE` when a number is out of range
 *   (e.g. LISTEN_PID=0); `EBADF` when a listed fd is not open.
 * @see sd_listen_fds(3)
 * @example
 * ```ts
 * for (const { fd, name } of listenFds()) console.log(fd, name);
 * ```
 */
export function listenFds(options?: ListenFdsOptions): InheritedFd[] {
  const c = consume(options);
  if (c.error) throw c.error;
  return c.fds.map((f) => ({ ...f }));
}

/** Socket kinds, as `sd_is_socket(3)` takes them through SOCK_* numbers. */
export type SocketType = 'stream' | 'dgram' | 'seqpacket';

const SOCK: Record<SocketType, number> = { stream: 1, dgram: 2, seqpacket: 5 };

function sockType(type: SocketType | undefined): number {
  if (type === undefined) return 0;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(SOCK, type)) {
    invalid(`socket type must be stream, dgram or seqpacket (got ${String(type)})`);
  }
  return SOCK[type];
}

function listeningArg(listening: boolean | undefined): number {
  if (listening === undefined) return -1;
  if (typeof listening !== 'boolean') invalid(`listening must be a boolean (got ${String(listening)})`);
  return listening ? 1 : 0;
}

/** Filters of {@link isSocketInet}; each omitted field means "don't care". */
export interface InetSocketQuery {
  /** 4 (AF_INET) or 6 (AF_INET6); omitted: either. */
  family?: 4 | 6;
  /** Socket type; omitted: any. */
  type?: SocketType;
  /** Listening (true) or not (false); omitted: either. */
  listening?: boolean;
  /** Local port; omitted or 0: any. */
  port?: number;
}

/**
 * Whether `fd` is an Internet socket of the given family, type, listening
 * state and port: `sd_is_socket_inet(3)`.
 *
 * @throws {@link SystemError} e.g. `EBADF` for a closed fd (syscall `sd_is_socket_inet`)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a bad fd, family, type, listening or port
 * @see sd_is_socket_inet(3)
 * @example
 * ```ts
 * if (isSocketInet(3, { type: 'stream', listening: true, port: 8080 })) ...
 * ```
 */
export function isSocketInet(fd: number, query: InetSocketQuery = {}): boolean {
  query = own(query, 'query');
  const family = query.family === undefined ? 0 : query.family === 4 ? 2 : query.family === 6 ? 10 : -1;
  if (family < 0) invalid(`family must be 4 or 6 (got ${String(query.family)})`);
  const port = intInRange(query.port ?? 0, 'port', 0, 65535);
  const listening = listeningArg(query.listening);
  const r = native().isSocketInet(fdArg(fd), family, sockType(query.type), listening, port);
  return check(r, 'sd_is_socket_inet', `fd ${fd}`) > 0;
}

/** Filters of {@link isSocketUnix}; each omitted field means "don't care". */
export interface UnixSocketQuery {
  /** Socket type; omitted: any. */
  type?: SocketType;
  /** Listening (true) or not (false); omitted: either. */
  listening?: boolean;
  /** Bound path; `@name` for the abstract namespace, `''` for unnamed; omitted: any. */
  path?: string;
}

/**
 * Whether `fd` is an AF_UNIX socket of the given type, listening state and
 * path: `sd_is_socket_unix(3)`.
 *
 * @throws {@link SystemError} e.g. `EBADF` (syscall `sd_is_socket_unix`)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a bad fd, type, listening or path
 * @see sd_is_socket_unix(3)
 * @example
 * ```ts
 * isSocketUnix(3, { type: 'stream', path: '/run/app.sock' });
 * ```
 */
export function isSocketUnix(fd: number, query: UnixSocketQuery = {}): boolean {
  query = own(query, 'query');
  const listening = listeningArg(query.listening);
  if (query.path !== undefined && typeof query.path !== 'string') invalid('path must be a string');
  const r = native().isSocketUnix(fdArg(fd), sockType(query.type), listening, query.path ?? null);
  return check(r, 'sd_is_socket_unix', `fd ${fd}`) > 0;
}

/** What an fd is, as far as socket matching cares. */
export interface SocketDescription extends RawSocketInfo {
  /** The fd described. */
  fd: number;
}

/**
 * Probe `fd` with fstat/getsockopt/getsockname: file type, socket family and
 * type, whether it listens, and its local address, port or unix path.
 *
 * @throws {@link SystemError} `EBADF` for a closed fd (syscall `fstat`)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` when fd is not a 32-bit integer
 * @example
 * ```ts
 * describeSocket(3); // { fd: 3, family: 'inet6', type: 'stream', listening: true, address: '::', port: 8080, ... }
 * ```
 */
export function describeSocket(fd: number): SocketDescription {
  const r = native().describeSocket(fdArg(fd));
  if (typeof r === 'number') throw systemError(r, 'fstat', `fd ${fd}`);
  return { fd, ...r };
}

/**
 * A human-readable summary of a described fd, used in warnings and by the
 * `sd-activate` command: `tcp 127.0.0.1:8080 (listening)`, `unix /run/a.sock`,
 * `udp [::]:53 dual-stack`, `fifo`.
 *
 * @param options.state - append `(listening)` / `(not listening)` for stream
 *   and seqpacket sockets (default `true`)
 */
export function formatSocket(d: RawSocketInfo, options: { state?: boolean } = {}): string {
  if (d.fileType !== 'socket') return d.fileType === 'file' ? 'regular file' : d.fileType;
  const connected = d.type === 'stream' || d.type === 'seqpacket';
  const state = options.state !== false && connected ? (d.listening ? ' (listening)' : ' (not listening)') : '';
  if (d.family === 'unix') {
    const kind = d.type === 'stream' ? 'unix' : `unix ${d.type}`;
    return `${kind} ${d.path === '' ? '(unnamed)' : d.path}${state}`;
  }
  if (d.family === 'inet' || d.family === 'inet6') {
    const proto = d.type === 'stream' ? 'tcp' : d.type === 'dgram' ? 'udp' : d.type;
    const host = d.family === 'inet6' ? `[${d.address}]` : d.address;
    const dual = d.family === 'inet6' && !d.v6only && d.address.split('%')[0] === '::' ? ' dual-stack' : '';
    return `${proto} ${host}:${d.port}${dual}${state}`;
  }
  return `${d.family} ${d.type} socket`;
}

/**
 * Close an fd (used for rejected inherited sockets).
 *
 * @throws {@link SystemError} `EBADF` when it is not open (syscall `close`)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` when fd is not a 32-bit integer
 */
export function closeFd(fd: number): void {
  check(native().close(fdArg(fd)), 'close', `fd ${fd}`);
}

/**
 * A new close-on-exec fd (3 or above) for the same open socket as `fd`, so a
 * server can listen on it and close it while `fd` stays open.
 *
 * @returns the new fd
 * @throws {@link SystemError} e.g. `EBADF`, `EMFILE` (syscall `fcntl`)
 * @internal
 */
export function dupFd(fd: number): number {
  const r = native().dup(fdArg(fd));
  check(r, 'fcntl', `F_DUPFD_CLOEXEC of fd ${fd}`);
  return r;
}

/**
 * `st_dev:st_ino` of the open file at `fd` in decimal (the form of
 * `JOURNAL_STREAM`), or undefined when `fd` is not open. Through the addon
 * when it is loaded (Node's `fs.fstatSync` cost 0.25 ms on its first call in
 * the activation path), else `fs`.
 *
 * @internal
 */
export function fileId(fd: number): string | undefined {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) return undefined;
  const id = loadedNative()?.fileId(fd);
  if (id !== undefined) return typeof id === 'string' ? id : undefined;
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The inode of the open file at `fd`, or undefined when `fd` is not open:
 * with it, whether a number still names the socket it did (fds are reused).
 *
 * @internal
 */
export function inodeOf(fd: number): number | undefined {
  const id = fileId(fd);
  return id === undefined ? undefined : Number(id.slice(id.indexOf(':') + 1));
}

/**
 * Whether the system was booted with systemd: `sd_booted(3)`.
 *
 * @see sd_booted(3)
 */
export function booted(): boolean {
  return check(native().booted(), 'sd_booted') > 0;
}

/**
 * Whether anyone accepts on a unix socket file: `live` when a connection is
 * accepted (or refused for another reason than "nobody listens", e.g.
 * `EPROTOTYPE` for a datagram socket), `stale` when it is refused
 * (`ECONNREFUSED`: a leftover of a crashed run), `gone` when the path does not exist.
 *
 * @internal
 */
export function probeUnixSocket(path: string): Promise<'stale' | 'live' | 'gone'> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.destroy();
      resolve(err.code === 'ECONNREFUSED' ? 'stale' : err.code === 'ENOENT' ? 'gone' : 'live');
    });
  });
}

interface WithHandle {
  _handle?: { fd?: number } | null;
}

/**
 * The fd number of a bound Node socket: `server._handle.fd` for a
 * `net.Server` (http, https, tls servers too) or `net.Socket`, and the
 * internal `state symbol` handle's `fd` for a `dgram.Socket` (Node keeps it
 * there since v12; the public `_handle` getter is deprecated, DEP0112).
 * These are Node internals that have been stable for years; they are used
 * only here.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` when the server or
 *   socket is not listening / bound (no fd yet), or it is not a socket
 * @example
 * ```ts
 * server.listen(8080, () => console.log(socketFd(server))); // e.g. 21
 * ```
 */
export function socketFd(target: net.Server | net.Socket | dgram.Socket): number {
  if (target === null || typeof target !== 'object') invalid('expected a net.Server, net.Socket or dgram.Socket');
  let handle: { fd?: number } | null | undefined;
  const state = Object.getOwnPropertySymbols(target).find((s) => s.description === 'state symbol');
  if (state !== undefined) {
    // dgram.Socket
    handle = (target as unknown as Record<symbol, { handle?: { fd?: number } | null } | undefined>)[state]?.handle;
  } else {
    handle = (target as WithHandle)._handle;
  }
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    invalid('the server or socket has no file descriptor yet: store it once it is listening (or bound)');
  }
  return fd;
}
