/**
 * The listener-matching policy as a pure function over socket descriptions:
 * which inherited socket goes to which configured listener, which are
 * rejected and why, and what each listener still has to bind itself.
 * No I/O here, so the policy can be property-tested and benchmarked without
 * file descriptors; `activation.ts` feeds it real descriptions.
 *
 * @internal
 */
import * as net from 'node:net';
import * as nodePath from 'node:path';
import { invalid } from './errors';
import { isValidFdName } from './sockets';
import type { RawSocketInfo } from './binding';

/**
 * One listener the app wants, as passed to `activate()`.
 *
 * Exactly one way of matching applies:
 * - `port` (with optional `bind`, `ipv6Only`): Internet sockets, matched by address;
 * - `path`: a unix stream socket, matched by its path;
 * - `fdname`: any socket of the right kind whose LISTEN_FDNAMES name
 *   (`FileDescriptorName=`) equals it. `port`/`bind`/`path` may be given as
 *   well: they are then only what the app binds when nothing of that name
 *   was inherited.
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
   * ephemeral port and never matches an inherited socket.
   */
  port?: number;
  /**
   * Numeric addresses this listener may be reached at; each entry allows:
   * itself (`127.0.0.1`, `::1`, `fe80::1%eth0`, `::ffff:10.0.0.1` = IPv4 10.0.0.1);
   * `*` or `0.0.0.0`: any IPv4 address; `::*` or `::`: any IPv6 address and, as
   * Node binds `::` dual-stack, any IPv4 address too unless `ipv6Only`.
   * Omitted: any address, as Node binds by default. Host names are refused
   * (they would make matching depend on DNS).
   */
  bind?: string | string[];
  /** IPv6 wildcard binds are IPv6-only (no IPv4 through a dual-stack socket). Default false. */
  ipv6Only?: boolean;
  /** A unix stream socket path; `@name` for the abstract namespace. */
  path?: string;
  /** `stream` (TCP, unix; the default) or `datagram` (UDP). */
  type?: 'stream' | 'datagram';
  /** Take sockets by their LISTEN_FDNAMES name instead of by address. */
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

/** The address set a socket exposes or a bind entry allows, per family: everything, one address key, or nothing. @internal */
export interface AddressSet {
  v4: 'all' | string | null;
  v6: 'all' | string | null;
}

/** One normalized bind entry. @internal */
export interface BindEntry {
  /** As written in the config (`*`, `::*`, `127.0.0.1`, ...), or `(any)` when `bind` was omitted. */
  text: string;
  /** What it allows. */
  allows: AddressSet;
  /** Host for a self-bind target (`0.0.0.0`, `::`, the literal), or undefined for Node's default. */
  host: string | undefined;
  /** Address family of the self-bound socket: 4, 6, or 0 for Node's default. */
  family: 0 | 4 | 6;
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
}

/** An fd to be matched: its number, LISTEN_FDNAMES name and description (or why it could not be described). */
export interface Candidate {
  fd: number;
  name: string;
  desc?: RawSocketInfo;
  /** Set when the fd could not be described (e.g. `EBADF`). */
  error?: string;
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

/** An adopted fd. @internal */
export interface Adoption {
  fd: number;
  name: string;
  desc: RawSocketInfo;
  listener: string;
  /** How it matched: the bind entry text, `path`, or `fdname`. */
  via: string;
}

/** A rejected fd. @internal */
export interface Rejection {
  fd: number;
  name: string;
  desc?: RawSocketInfo;
  reason: RejectReason;
  /** Why, in words (without the fd and socket, which the caller prefixes). */
  detail: string;
}

/** What {@link matchSockets} decided: every candidate lands in exactly one list. @internal */
export interface MatchResult {
  adopted: Adoption[];
  rejected: Rejection[];
}

// ---------------------------------------------------------------- addresses

interface ParsedIp {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: number[];
  scope: string;
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseGroups(s: string): number[] | null {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    out.push(parseInt(g, 16));
  }
  return out;
}

function parseV6(s: string): number[] | null {
  let tail: number[] = [];
  let head = s;
  if (s.includes('.')) {
    const i = s.lastIndexOf(':');
    const v4 = parseV4(s.slice(i + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    head = s.slice(0, i + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const want = 8 - tail.length;
  let groups: number[];
  const dbl = head.indexOf('::');
  if (dbl >= 0) {
    if (head.indexOf('::', dbl + 1) >= 0) return null;
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length >= want) return null;
    groups = [...left, ...new Array<number>(want - left.length - right.length).fill(0), ...right];
  } else {
    const g = parseGroups(head);
    if (!g || g.length !== want) return null;
    groups = g;
  }
  const bytes: number[] = [];
  for (const g of [...groups, ...tail]) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

/** Parse a numeric IPv4/IPv6 address (optional `[...]`, optional `%scope` on IPv6). @internal */
export function parseIp(text: string): ParsedIp | null {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const pct = s.indexOf('%');
  const scope = pct >= 0 ? s.slice(pct + 1) : '';
  const addr = pct >= 0 ? s.slice(0, pct) : s;
  if (pct >= 0 && scope === '') return null;
  if (net.isIPv4(addr) && pct < 0) {
    const b = parseV4(addr);
    return b ? { family: 4, bytes: b, scope: '' } : null;
  }
  if (!net.isIPv6(addr)) return null;
  const b = parseV6(addr);
  return b ? { family: 6, bytes: b, scope } : null;
}

function isMapped(b: number[]): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function allZero(b: number[]): boolean {
  return b.every((x) => x === 0);
}

function v4Key(b: number[]): string {
  return b.join('.');
}

function v6Key(b: number[], scope: string): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':') + (scope ? `%${scope}` : '');
}

/** What an address exposes/allows on its own, `wildcardDual` deciding whether `::` also takes IPv4. */
function addressSet(p: ParsedIp, wildcardDual: boolean): AddressSet {
  if (p.family === 4) return { v4: allZero(p.bytes) ? 'all' : v4Key(p.bytes), v6: null };
  if (isMapped(p.bytes)) {
    const v4 = p.bytes.slice(12);
    return { v4: allZero(v4) ? 'all' : v4Key(v4), v6: null };
  }
  if (allZero(p.bytes)) return { v4: wildcardDual ? 'all' : null, v6: 'all' };
  return { v4: null, v6: v6Key(p.bytes, p.scope) };
}

/**
 * What an inet/inet6 socket accepts connections (or datagrams) for, or null
 * when its address cannot be parsed. A dual-stack `::` socket (IPV6_V6ONLY off)
 * takes any IPv4 address as well; a socket bound to `::ffff:a.b.c.d` takes IPv4
 * a.b.c.d only. @internal
 */
export function exposure(desc: RawSocketInfo): AddressSet | null {
  const p = parseIp(desc.address);
  if (!p) return null;
  if (desc.family === 'inet' && p.family !== 4) return null;
  if (desc.family === 'inet6' && p.family !== 6) return null;
  return addressSet(p, !desc.v6only);
}

/** Whether everything in `inner` is in `outer`. @internal */
export function within(inner: AddressSet, outer: AddressSet): boolean {
  for (const f of ['v4', 'v6'] as const) {
    const i = inner[f];
    const o = outer[f];
    if (i === null) continue;
    if (o === null) return false;
    if (o !== 'all' && i !== o) return false;
  }
  return true;
}

/** Whether two sets share an address. @internal */
export function overlaps(a: AddressSet, b: AddressSet): boolean {
  for (const f of ['v4', 'v6'] as const) {
    const x = a[f];
    const y = b[f];
    if (x === null || y === null) continue;
    if (x === 'all' || y === 'all' || x === y) return true;
  }
  return false;
}

/** A set in words, for warnings. @internal */
export function describeSet(s: AddressSet): string {
  const part = (f: 'v4' | 'v6'): string | null => {
    const x = s[f];
    if (x === null) return null;
    if (x !== 'all') return x;
    return f === 'v4' ? 'any IPv4 address' : 'any IPv6 address';
  };
  const parts = [part('v6'), part('v4')].filter((x): x is string => x !== null);
  if (parts.length === 0) return 'no address';
  return parts.join(' and ');
}

function specificity(s: AddressSet): number {
  return (s.v4 === 'all' ? 0 : 1) + (s.v6 === 'all' ? 0 : 1);
}

// ---------------------------------------------------------------- config

const KEYS = new Set(['port', 'bind', 'ipv6Only', 'path', 'type', 'fdname', 'backlog']);
const HINTS: Record<string, string> = {
  host: "use 'bind' (numeric addresses, '*' or '::*')",
  address: "use 'bind'",
  addresses: "use 'bind'",
  name: "use 'fdname' to match LISTEN_FDNAMES",
  kind: "use 'type'",
};

function entryFor(text: string, ipv6Only: boolean, where: string): BindEntry {
  if (typeof text !== 'string') invalid(`${where}: bind entries must be strings (got ${typeof text})`);
  if (text === '*') return { text, allows: { v4: 'all', v6: null }, host: '0.0.0.0', family: 4 };
  if (text === '::*') return { text, allows: { v4: ipv6Only ? null : 'all', v6: 'all' }, host: '::', family: 6 };
  const p = parseIp(text);
  if (!p) {
    invalid(`${where}: bind entry ${JSON.stringify(text)} is not a numeric IP address, '*' or '::*'` +
      (/^[a-z]/i.test(text) ? ' (host names are not resolved: write 127.0.0.1 / ::1 instead of localhost)' : ''));
  }
  const host = text.startsWith('[') ? text.slice(1, -1) : text;
  return { text, allows: addressSet(p, !ipv6Only), host, family: p.family };
}

function posInt(v: unknown, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/**
 * Validate and normalize one listener.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for anything malformed.
 * @internal
 */
export function normalizeListener(name: string, config: ListenerConfig): Listener {
  const where = `listener ${JSON.stringify(name)}`;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) invalid(`${where}: config must be an object`);
  for (const k of Object.keys(config)) {
    if (!KEYS.has(k)) invalid(`${where}: unknown option ${JSON.stringify(k)}${HINTS[k] ? ` (${HINTS[k]})` : ''}`);
  }
  const c = config as Record<string, unknown>;
  const type = c.type ?? 'stream';
  if (type !== 'stream' && type !== 'datagram') invalid(`${where}: type must be 'stream' or 'datagram' (got ${JSON.stringify(c.type)})`);
  if (c.port !== undefined && !posInt(c.port, 65535)) invalid(`${where}: port must be an integer 0..65535 (got ${JSON.stringify(c.port)})`);
  if (c.backlog !== undefined && (!posInt(c.backlog, 0x7fffffff) || c.backlog === 0)) invalid(`${where}: backlog must be a positive integer`);
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
        const e = entryFor(t as string, ipv6Only, where);
        const key = `${e.allows.v4}|${e.allows.v6}`; // same addresses: bound once, first spelling wins
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push(e);
      }
    }
  }
  return {
    name,
    config: { ...config, ...(Array.isArray(config.bind) ? { bind: [...config.bind] } : {}) },
    kind: type,
    match: c.fdname !== undefined ? 'fdname' : path !== undefined ? 'unix' : 'inet',
    port: c.port as number | undefined,
    entries,
    path,
    fdname: c.fdname as string | undefined,
  };
}

/**
 * Validate a whole configuration.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT`
 * @internal
 */
export function normalizeConfig(config: Record<string, ListenerConfig>): Listener[] {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) invalid('activate(): config must be an object of named listeners');
  const out: Listener[] = [];
  for (const [name, c] of Object.entries(config)) {
    if (name === '') invalid('activate(): listener names must be non-empty');
    out.push(normalizeListener(name, c));
  }
  return out;
}

// ---------------------------------------------------------------- matching

function kindOf(desc: RawSocketInfo): 'stream' | 'datagram' {
  return desc.type === 'dgram' ? 'datagram' : 'stream';
}

function proto(desc: RawSocketInfo): string {
  return desc.type === 'dgram' ? 'udp' : 'tcp';
}

function samePath(configured: string, actual: string): boolean {
  if (configured === actual) return true;
  if (configured.startsWith('@') || actual.startsWith('@') || !actual.startsWith('/')) return false;
  // A relative configured path means the same file as the absolute one bound by the manager.
  return !configured.startsWith('/') && nodePath.resolve(configured) === actual;
}

/** Listeners grouped by a key, in config order. */
function groupBy<K>(items: readonly Listener[], key: (l: Listener) => K): Map<K, Listener[]> {
  const m = new Map<K, Listener[]>();
  for (const l of items) {
    const k = key(l);
    const list = m.get(k);
    if (list) list.push(l);
    else m.set(k, [l]);
  }
  return m;
}

/**
 * Decide, for every candidate fd, whether one of `listeners` adopts it or
 * why it is rejected. Pure: closes nothing, warns nobody.
 *
 * Rules, in order: the fd must be a socket Node can serve (inet/inet6
 * stream or datagram, unix stream), and a stream socket must listen. Then a
 * listener with `fdname` equal to the fd's name takes it (when the kind fits);
 * otherwise a unix socket goes to the listener whose `path` equals its path,
 * and an inet socket to a listener with its port one of whose bind entries
 * allows everything the socket exposes. When several entries allow it, the
 * most specific wins (an exact address over `*`/`::*` over no `bind`), then
 * the first listener in config order. Each fd is adopted at most once.
 *
 * @internal
 */
export function matchSockets(listeners: readonly Listener[], candidates: readonly Candidate[]): MatchResult {
  const adopted: Adoption[] = [];
  const rejected: Rejection[] = [];
  const reject = (c: Candidate, reason: RejectReason, detail: string): void => {
    rejected.push({ fd: c.fd, name: c.name, ...(c.desc ? { desc: c.desc } : {}), reason, detail });
  };
  // Listeners indexed by name, path and port, so each fd costs the listeners
  // that could take it, not all of them (1,000 fds x 1,000 listeners stays linear).
  const byName = groupBy(listeners.filter((l) => l.match === 'fdname'), (l) => l.fdname);
  const unixListeners = listeners.filter((l) => l.match === 'unix');
  const byPort = groupBy(listeners.filter((l) => l.match === 'inet' && l.port !== undefined && l.port !== 0), (l) => l.port);
  const seen = new Set<number>();
  for (const c of candidates) {
    if (seen.has(c.fd)) {
      reject(c, 'unreadable', 'it is listed twice');
      continue;
    }
    seen.add(c.fd);
    const d = c.desc;
    if (!d) {
      reject(c, 'unreadable', `it cannot be examined${c.error ? ` (${c.error})` : ''}`);
      continue;
    }
    if (d.fileType !== 'socket') {
      reject(c, 'not-a-socket', 'it is not a socket');
      continue;
    }
    const inet = d.family === 'inet' || d.family === 'inet6';
    if (!inet && d.family !== 'unix') {
      reject(c, 'unsupported', `Node cannot serve ${d.family || 'unknown'}-family sockets`);
      continue;
    }
    if (d.type !== 'stream' && !(d.type === 'dgram' && inet)) {
      reject(c, 'unsupported', `Node cannot serve ${d.family === 'unix' ? 'unix ' : ''}${d.type} sockets`);
      continue;
    }
    if (d.type === 'stream' && !d.listening) {
      reject(c, 'not-listening', 'it is not listening (a connected socket, as Accept=yes passes); Node can only serve listening sockets');
      continue;
    }
    const kind = kindOf(d);

    // 1. By name.
    let nameMiss: Listener | undefined;
    const namedListeners = byName.get(c.name) ?? [];
    const named = namedListeners.find((l) => l.kind === kind);
    if (named) {
      adopted.push({ fd: c.fd, name: c.name, desc: d, listener: named.name, via: 'fdname' });
      continue;
    }
    if (namedListeners.length > 0) nameMiss = namedListeners[0];

    // 2. By address.
    if (d.family === 'unix') {
      const owner = d.path === '' ? undefined : unixListeners.find((l) => samePath(l.path!, d.path));
      if (owner) {
        adopted.push({ fd: c.fd, name: c.name, desc: d, listener: owner.name, via: 'path' });
      } else if (nameMiss) {
        reject(c, 'kind-mismatch', `listener ${JSON.stringify(nameMiss.name)} takes fdname ${JSON.stringify(c.name)} but is a ${nameMiss.kind} listener`);
      } else {
        reject(c, 'no-listener', d.path === '' ? 'it is unnamed' : `no listener is configured for path ${d.path}`);
      }
      continue;
    }
    const exp = exposure(d);
    if (!exp) {
      reject(c, 'unsupported', `its address ${JSON.stringify(d.address)} cannot be parsed`);
      continue;
    }
    const onPort = byPort.get(d.port) ?? [];
    const fitting = onPort.filter((l) => l.kind === kind);
    let best: { l: Listener; e: BindEntry; s: number } | undefined;
    for (const l of fitting) {
      for (const e of l.entries) {
        if (!within(exp, e.allows)) continue;
        const s = specificity(e.allows);
        if (!best || s > best.s) best = { l, e, s };
      }
    }
    if (best) {
      adopted.push({ fd: c.fd, name: c.name, desc: d, listener: best.l.name, via: best.e.text });
      continue;
    }
    if (fitting.length > 0) {
      const l = fitting[0]!;
      const allowed = l.entries.map((e) => e.text === '(any)' ? 'any address' : e.text).join(', ');
      reject(c, 'address-not-allowed', `it exposes ${describeSet(exp)}, more than listener ${JSON.stringify(l.name)} allows (bind ${allowed}${l.config.ipv6Only ? ', ipv6Only' : ''})`);
    } else if (onPort.length > 0) {
      const l = onPort[0]!;
      reject(c, 'kind-mismatch', `listener ${JSON.stringify(l.name)} on port ${d.port} is a ${l.kind} listener, this is a ${kind} socket`);
    } else if (nameMiss) {
      reject(c, 'kind-mismatch', `listener ${JSON.stringify(nameMiss.name)} takes fdname ${JSON.stringify(c.name)} but is a ${nameMiss.kind} listener`);
    } else {
      reject(c, 'no-listener', `no listener is configured for ${proto(d)} port ${d.port}`);
    }
  }
  return { adopted, rejected };
}

// ---------------------------------------------------------------- targets

/**
 * Where a stream server listens: pass it to `server.listen(target, target.backlog)`
 * of a `net`, `http`, `https`, `http2` or `tls` server. `{ fd }` is an adopted
 * socket; `{ host?, port }` and `{ path }` are for the app to bind. (Node
 * ignores `backlog` inside `{ fd }` options, hence the second argument.)
 */
export type StreamTarget =
  | { fd: number; backlog?: number }
  | { port: number; host?: string; ipv6Only?: boolean; backlog?: number }
  | { path: string; backlog?: number };

/**
 * Where a datagram socket binds: `dgram.createSocket(target)` picks the
 * socket `type` (and `ipv6Only`), then `socket.bind(target)` takes `fd` or
 * `port`/`address`.
 */
export type DatagramTarget =
  | { fd: number; type: 'udp4' | 'udp6' }
  | { port: number; address?: string; type: 'udp4' | 'udp6'; ipv6Only?: boolean };

/** A listen target: what Node's `server.listen()` / `socket.bind()` already take. */
export type ListenTarget = StreamTarget | DatagramTarget;

/** Environment facts the plan depends on. @internal */
export interface PlanOptions {
  /** Whether an IPv6 socket can be made (Node's default bind is then `::`); picks `udp6` vs `udp4`. */
  ipv6: boolean;
  /**
   * Backlog for adopted stream sockets when the listener sets none. Node calls
   * listen(2) again on an adopted fd (default 511, shrinking the unit's
   * `Backlog=`, and for `{ fd }` it reads the backlog only from a separate
   * argument: `server.listen(target, target.backlog)`); activation passes
   * net.core.somaxconn, which is what systemd's default `Backlog=` amounts to.
   * Undefined: leave it to Node.
   */
  fdBacklog?: number;
}

function selfTarget(l: Listener, e: BindEntry, o: PlanOptions): ListenTarget {
  const port = l.port ?? 0;
  const v6only = l.config.ipv6Only === true;
  if (l.kind === 'datagram') {
    const type = e.family === 4 ? 'udp4' : e.family === 6 ? 'udp6' : o.ipv6 || v6only ? 'udp6' : 'udp4';
    const t: { port: number; address?: string; type: 'udp4' | 'udp6'; ipv6Only?: boolean } = { port, type };
    if (e.host !== undefined) t.address = e.host;
    if (v6only && type === 'udp6') t.ipv6Only = true;
    return t;
  }
  const t: { port: number; host?: string; ipv6Only?: boolean; backlog?: number } = { port };
  if (e.host !== undefined) t.host = e.host;
  if (v6only && e.family !== 4) t.ipv6Only = true;
  if (l.config.backlog !== undefined) t.backlog = l.config.backlog;
  return t;
}

/**
 * The targets of one listener: one `{ fd }` per adopted socket (in fd order),
 * then one self-bind target per bind entry that no adopted socket overlaps
 * (partial activation), or the `path` when no unix socket was inherited. An
 * `fdname` listener with adopted sockets binds nothing more. A wildcard entry
 * served by a narrower inherited socket is not widened: binding it as well
 * would collide with the inherited port.
 *
 * @internal
 */
export function planTargets(l: Listener, adopted: readonly Adoption[], o: PlanOptions): ListenTarget[] {
  const mine = adopted.filter((a) => a.listener === l.name).sort((a, b) => a.fd - b.fd);
  const out: ListenTarget[] = [];
  for (const a of mine) {
    if (l.kind === 'datagram') out.push({ fd: a.fd, type: a.desc.family === 'inet6' ? 'udp6' : 'udp4' });
    else {
      const backlog = l.config.backlog ?? o.fdBacklog;
      out.push(backlog !== undefined ? { fd: a.fd, backlog } : { fd: a.fd });
    }
  }
  if (l.match === 'fdname' && mine.length > 0) return out;
  if (l.path !== undefined) {
    if (mine.length === 0) {
      const p = l.path.startsWith('@') ? `\0${l.path.slice(1)}` : l.path;
      out.push(l.config.backlog !== undefined ? { path: p, backlog: l.config.backlog } : { path: p });
    }
    return out;
  }
  if (l.port === undefined) return out;
  const exposed = mine.map((a) => exposure(a.desc)).filter((x): x is AddressSet => x !== null);
  for (const e of l.entries) {
    if (exposed.some((x) => overlaps(x, e.allows))) continue;
    out.push(selfTarget(l, e, o));
  }
  return out;
}
