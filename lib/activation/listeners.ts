// SPDX-License-Identifier: MIT
/**
 * The listeners an app configures: the `ListenerConfig` it writes, validated
 * and normalized into `Listener`s the matcher and the planner read. Pure.
 *
 * @internal
 */
import { bindEntry, type BindAllowance } from './address';
import { invalid } from '../errors';
import { intInRange, isValidFdName, object, own } from '../validate';

/**
 * One listener the app wants, as passed to `activate()`.
 *
 * Exactly one way of matching applies:
 * - `port` (with optional `bind`, `ipv6Only`): Internet sockets, matched by address;
 * - `path`: a unix stream socket, matched by its path;
 * - `fdname`: a socket of the right kind whose LISTEN_FDNAMES name
 *   (`FileDescriptorName=`) equals it. A name never widens: with
 *   `port`/`bind`/`path` as well, the named socket must also lie within them
 *   (port `0` leaves the port to the unit), and they are what the app binds
 *   when nothing of that name was inherited. With `fdname` alone the unit
 *   decides the address: the one case where it does.
 *
 * @example
 * ```ts
 * const config: Record<string, ListenerConfig> = {
 *   http:  { port: 8080, bind: ['127.0.0.1', '::1'] },
 *   admin: { path: '/run/app/admin.sock' },
 *   dns:   { port: 5353, type: 'datagram', bind: '*' },
 *   web:   { fdname: 'web', port: 8081 },
 * };
 * ```
 */
export interface ListenerConfig {
  /**
   * TCP/UDP port. An inherited socket must have exactly this port; `0` binds an
   * ephemeral port and never matches an inherited socket by address (with
   * `fdname`, it leaves the port to the unit).
   */
  port?: number;
  /**
   * Numeric addresses this listener may be reached at. The socket's family
   * decides first: `*` (`0.0.0.0`) is any IPv4 address and adopts only
   * AF_INET sockets; `::*` (`::`) is any IPv6 address and adopts only AF_INET6
   * sockets, a dual-stack `[::]` included (unless `ipv6Only`). A literal
   * allows itself (`127.0.0.1`, `::1`, `fe80::1%eth0`; `::ffff:10.0.0.1` is
   * IPv4 10.0.0.1). Self-bound, `*` binds `0.0.0.0` and `::*` binds `::` as
   * Node does (dual-stack), IPv6-only beside IPv4 entries or with `ipv6Only`.
   * Omitted: any address of either family, as Node binds by default. Host
   * names are refused (they would make matching depend on DNS).
   */
  bind?: string | string[];
  /** IPv6 wildcards are IPv6-only: they adopt only IPV6_V6ONLY sockets and bind IPv6-only. Default false. */
  ipv6Only?: boolean;
  /** A unix stream socket path; `@name` for the abstract namespace. */
  path?: string;
  /** `stream` (TCP, unix; the default) or `datagram` (UDP). */
  type?: 'stream' | 'datagram';
  /** Take sockets by their LISTEN_FDNAMES name (within `port`/`bind`/`path` when given). */
  fdname?: string;
  /**
   * listen(2) backlog, put in every stream target. Node calls listen(2) again
   * on an adopted fd, which replaces the `.socket` unit's `Backlog=`; without
   * this option an adopted fd's target carries net.core.somaxconn (what
   * systemd's default `Backlog=` amounts to) instead of Node's 511, so
   * connections queued while the app restarts are not cut short. Node takes it
   * for `{ fd }` only as an argument: `server.listen(target, target.backlog)`
   * ({@link Activation.listen} does this).
   */
  backlog?: number;
}

/** One normalized bind entry. @internal */
export interface BindEntry extends BindAllowance {
  /** As written in the config (`*`, `::*`, `127.0.0.1`, ...), or `(any)` when `bind` was omitted. */
  text: string;
}

/** A validated listener. @internal */
export interface Listener {
  name: string;
  /** The config as given (validated). */
  config: ListenerConfig;
  kind: 'stream' | 'datagram';
  /** How inherited sockets are matched. */
  match: 'inet' | 'unix' | 'fdname';
  port: number | undefined;
  /** Bind entries (one `(any)` entry when `bind` was omitted); empty for path-only / fdname-only listeners. */
  entries: BindEntry[];
  path: string | undefined;
  fdname: string | undefined;
  ipv6Only: boolean;
  /** The listen(2) backlog the app asked for, if any. */
  backlog: number | undefined;
}

const KEYS = new Set(['port', 'bind', 'ipv6Only', 'path', 'type', 'fdname', 'backlog']);
const HINTS: Record<string, string> = {
  host: "use 'bind' (numeric addresses, '*' or '::*')",
  address: "use 'bind'",
  addresses: "use 'bind'",
  name: "use 'fdname' to match LISTEN_FDNAMES",
  kind: "use 'type'",
};

function entryFor(text: unknown, ipv6Only: boolean, where: string): BindEntry {
  if (typeof text !== 'string') invalid(`${where}: bind entries must be strings (got ${typeof text})`);
  const e = bindEntry(text, ipv6Only);
  if (!e) {
    invalid(`${where}: bind entry ${JSON.stringify(text)} is not a numeric IP address, '*' or '::*'` +
      (/^[a-z]/i.test(text) ? ' (host names are not resolved: write 127.0.0.1 / ::1 instead of localhost)' : ''));
  }
  return { text, ...e };
}

/**
 * Validate and normalize one listener.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for anything malformed.
 * @internal
 */
export function normalizeListener(name: string, config: ListenerConfig): Listener {
  const where = `listener ${JSON.stringify(name)}`;
  const c = own(config, `${where}: config`) as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!KEYS.has(k)) invalid(`${where}: unknown option ${JSON.stringify(k)}${Object.hasOwn(HINTS, k) ? ` (${HINTS[k]})` : ''}`);
  }
  const type = c.type ?? 'stream';
  if (type !== 'stream' && type !== 'datagram') invalid(`${where}: type must be 'stream' or 'datagram' (got ${JSON.stringify(c.type)})`);
  if (c.port !== undefined) intInRange(c.port, `${where}: port`, 0, 65535);
  if (c.backlog !== undefined) intInRange(c.backlog, `${where}: backlog`, 1, 0x7fffffff);
  if (c.ipv6Only !== undefined && typeof c.ipv6Only !== 'boolean') invalid(`${where}: ipv6Only must be a boolean`);
  if (c.fdname !== undefined) {
    if (!isValidFdName(c.fdname)) {
      invalid(`${where}: fdname must be 1 to 255 printable ASCII characters without ':' (as FileDescriptorName= allows)`);
    }
  }
  let path: string | undefined;
  if (c.path !== undefined) {
    if (typeof c.path !== 'string' || c.path === '' || c.path === '@' || c.path.includes('\0')) invalid(`${where}: path must be a non-empty string without NUL`);
    if (Buffer.byteLength(c.path) > 107) invalid(`${where}: path is longer than a unix socket address allows (107 bytes)`);
    if (c.port !== undefined || c.bind !== undefined || c.ipv6Only !== undefined) invalid(`${where}: path cannot be combined with port, bind or ipv6Only`);
    if (type !== 'stream') invalid(`${where}: unix datagram sockets are not supported by Node (path needs type 'stream')`);
    path = c.path;
  }
  if (c.bind !== undefined && c.port === undefined) invalid(`${where}: bind needs a port`);
  if (c.port === undefined && path === undefined && c.fdname === undefined) invalid(`${where}: needs a port, a path or an fdname`);
  const ipv6Only = c.ipv6Only === true;
  let entries: BindEntry[] = [];
  if (c.port !== undefined) {
    if (c.bind === undefined) {
      entries = [{ text: '(any)', allows: { v4: ipv6Only ? null : 'all', v6: 'all' }, host: undefined, family: 0 }];
    } else {
      const list = Array.isArray(c.bind) ? (c.bind as unknown[]) : [c.bind];
      if (list.length === 0) invalid(`${where}: bind must name at least one address (omit it for any address)`);
      const seen = new Set<string>();
      for (const t of list) {
        const e = entryFor(t, ipv6Only, where);
        const key = `${e.allows.v4}|${e.allows.v6}`; // same addresses: bound once, first spelling wins
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push(e);
      }
      // Beside entries that reach IPv4 themselves, `::*` is IPv6 only: it binds
      // IPv6-only there, and a dual-stack socket's IPv4 must be allowed by them.
      if (entries.some((e) => e.only !== 'inet6' && e.allows.v4 !== null)) {
        entries = entries.map((e) => (e.only === 'inet6' ? { ...e, allows: { v4: null, v6: e.allows.v6 } } : e));
      }
    }
  }
  return {
    name,
    config: { ...c, ...(Array.isArray(c.bind) ? { bind: [...(c.bind as string[])] } : {}) } as ListenerConfig,
    kind: type,
    match: c.fdname !== undefined ? 'fdname' : path !== undefined ? 'unix' : 'inet',
    port: c.port as number | undefined,
    entries,
    path,
    fdname: c.fdname as string | undefined,
    ipv6Only,
    backlog: c.backlog as number | undefined,
  };
}

/**
 * Validate a whole configuration.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT`
 * @internal
 */
export function normalizeConfig(config: Record<string, ListenerConfig>): Listener[] {
  object(config, 'activate(): config');
  const out: Listener[] = [];
  for (const [name, c] of Object.entries(config)) {
    if (name === '') invalid('activate(): listener names must be non-empty');
    out.push(normalizeListener(name, c));
  }
  return out;
}

/**
 * A canonical key of a configuration, equal for configurations that mean the
 * same (key order and `undefined` values do not count).
 *
 * @internal
 */
export function configKey(listeners: readonly Listener[]): string {
  const norm = (c: ListenerConfig): string => {
    const o = c as Record<string, unknown>;
    return JSON.stringify(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, o[k]]));
  };
  return JSON.stringify(listeners.map((l) => [l.name, norm(l.config)]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)));
}
