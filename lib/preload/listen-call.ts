// SPDX-License-Identifier: MIT
/**
 * What one `net.Server#listen(...)` call asks for, read the way Node 20's
 * `normalizeArgs` and `Server.prototype.listen` read it: a TCP port (number or
 * numeric string) with an optional host, a unix path, an fd the app names
 * itself, or something the preload leaves to Node untouched (port 0, a
 * handle, arguments Node will reject). Pure.
 *
 * @internal
 */

/** A listen() call, as the preload sees it. @internal */
export type ListenCall =
  | { kind: 'inet'; port: number; host: string | undefined; ipv6Only: boolean; backlog: number | undefined; signal: unknown; cb: ListenCallback | undefined }
  | { kind: 'path'; path: string; backlog: number | undefined; signal: unknown; cb: ListenCallback | undefined }
  | { kind: 'fd'; fd: number }
  | { kind: 'other'; why: string };

/** The callback of a listen() call. @internal */
export type ListenCallback = (...args: unknown[]) => void;

/** Node's `toNumber`: a number >= 0, else false. */
function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** Node's `isPipeName`: a string that is not a number. */
function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && toNumber(s) === false;
}

/** Node's `validatePort` (zero allowed): the port as a number, or undefined when Node would throw. */
function validPort(port: unknown): number | undefined {
  if (typeof port !== 'number' && typeof port !== 'string') return undefined;
  if (typeof port === 'string' && port.trim().length === 0) return undefined;
  const n = +port;
  if (n !== n >>> 0 || n > 0xffff) return undefined;
  return n;
}

/**
 * Read a listen() call's arguments.
 *
 * @returns what the call asks for (`other`, with why, for what the preload passes to Node untouched)
 * @internal
 */
export function readListenCall(args: readonly unknown[]): ListenCall {
  if (args.length === 0) return { kind: 'other', why: 'no port (an ephemeral port)' };
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? (last as ListenCallback) : undefined;
  const arg0 = args[0];
  let options: Record<string, unknown>;
  if (typeof arg0 === 'object' && arg0 !== null) options = arg0 as Record<string, unknown>;
  else if (isPipeName(arg0)) options = { path: arg0 };
  else {
    options = { port: arg0 };
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const fromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]) || undefined;
  // As Node: a handle option is unwrapped first; one with an fd names that fd.
  const handle = (options._handle || options.handle) as { fd?: unknown } | undefined;
  if (handle) {
    return typeof handle === 'object' && typeof handle.fd === 'number' && handle.fd >= 0 ? { kind: 'fd', fd: handle.fd } : { kind: 'other', why: 'a handle' };
  }
  if (typeof options.fd === 'number' && options.fd >= 0) return { kind: 'fd', fd: options.fd };
  const backlog = (toNumber(options.backlog) || undefined) ?? fromArgs;
  const signal = options.signal;
  if (typeof arg0 === 'function' || ('port' in options && options.port === undefined) || options.port === null) {
    return { kind: 'other', why: 'no port (an ephemeral port)' };
  }
  if (typeof options.port === 'number' || typeof options.port === 'string') {
    const port = validPort(options.port);
    if (port === undefined) return { kind: 'other', why: 'an invalid port (Node rejects it)' };
    if (port === 0) return { kind: 'other', why: 'port 0 (an ephemeral port)' };
    const host = options.host;
    if (host && typeof host !== 'string') return { kind: 'other', why: 'a host that is not a string (Node rejects it)' };
    return { kind: 'inet', port, host: typeof host === 'string' && host !== '' ? host : undefined, ipv6Only: options.ipv6Only === true, backlog, signal, cb };
  }
  if (options.path && isPipeName(options.path)) return { kind: 'path', path: options.path, backlog, signal, cb };
  return { kind: 'other', why: 'neither a port nor a path (Node rejects it)' };
}
