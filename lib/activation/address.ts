// SPDX-License-Identifier: MIT
/**
 * The address algebra of the matching policy: numeric IPv4/IPv6 parsing,
 * the set of addresses a socket exposes or a bind entry allows (`*` = any
 * IPv4, `::*` = any IPv6, literals, IPv4-mapped IPv6, dual-stack `::`), and
 * "lies within" / "overlaps" over those sets. Pure, no I/O.
 *
 * @internal
 */
import net = require('node:net');
import type { RawSocketInfo } from '../binding';

/** The address set a socket exposes or a bind entry allows, per family: everything, one address key, or nothing. @internal */
export interface AddressSet {
  v4: 'all' | string | null;
  v6: 'all' | string | null;
}

/** A parsed numeric address. @internal */
export interface ParsedIp {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: number[];
  scope: string;
}

/**
 * The value of `s` as 1 to `max` digits of base 10 or 16, else -1. Loops,
 * not regular expressions: V8 compiles a regular expression on its first
 * use, which no code cache keeps (0.1-0.2 ms of the first activate()).
 */
function digits(s: string, base: 10 | 16, max: number): number {
  if (s.length === 0 || s.length > max) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : base === 16 && (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
    if (d < 0) return -1;
    n = n * base + d;
  }
  return n;
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // 0, or 1 to 3 digits without a leading zero, at most 255.
    const n = p.length > 1 && p.charCodeAt(0) === 48 ? -1 : digits(p, 10, 3);
    if (n < 0 || n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseGroups(s: string): number[] | null {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    const n = digits(g, 16, 4);
    if (n < 0) return null;
    out.push(n);
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
  // parseV4 accepts exactly what net.isIPv4 does (dotted decimal, no leading
  // zeros), without compiling Node's large address regex on the first call.
  const v4 = pct < 0 ? parseV4(addr) : null;
  if (v4) return { family: 4, bytes: v4, scope: '' };
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

/** What an address exposes/allows on its own, `wildcardDual` deciding whether `::` also takes IPv4. @internal */
export function addressSet(p: ParsedIp, wildcardDual: boolean): AddressSet {
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

/** How narrow a set is: 0 (any address of both families) .. 2 (one address). @internal */
export function specificity(s: AddressSet): number {
  return (s.v4 === 'all' ? 0 : 1) + (s.v6 === 'all' ? 0 : 1);
}

/** What one bind entry allows and how it is self-bound. @internal */
export interface BindAllowance {
  /** What it allows. */
  allows: AddressSet;
  /** Host for a self-bind target (`0.0.0.0`, `::`, the literal), or undefined for Node's default. */
  host: string | undefined;
  /** Address family of the self-bound socket: 4, 6, or 0 for Node's default. */
  family: 0 | 4 | 6;
  /**
   * The one socket family whose sockets it adopts, for the wildcards: `*`
   * (`0.0.0.0`) only AF_INET sockets, `::*` (`::`) only AF_INET6 ones, a
   * dual-stack `[::]` included. Undefined: the address set alone decides.
   */
  only?: 'inet' | 'inet6';
}

/**
 * What a bind entry allows. The socket's family decides first: `*` (or
 * `0.0.0.0`) is any IPv4 address and adopts only AF_INET sockets; `::*` (or
 * `::`) is any IPv6 address and adopts only AF_INET6 sockets — a dual-stack
 * `[::]` socket among them, whose IPv4 reach `::*` then allows too, unless
 * `ipv6Only`, which takes only IPV6_V6ONLY sockets. A literal allows itself
 * (`127.0.0.1` also through `::ffff:127.0.0.1`). Null when `text` is not a
 * numeric address.
 *
 * @internal
 */
export function bindEntry(text: string, ipv6Only: boolean): BindAllowance | null {
  const p = text === '*' ? parseIp('0.0.0.0') : text === '::*' ? parseIp('::') : parseIp(text);
  if (!p) return null;
  const allows = addressSet(p, !ipv6Only);
  const host = text === '*' ? '0.0.0.0' : text === '::*' ? '::' : text.startsWith('[') ? text.slice(1, -1) : text;
  const e: BindAllowance = { allows, host, family: p.family };
  if (p.family === 4 && allZero(p.bytes)) e.only = 'inet';
  else if (p.family === 6 && allZero(p.bytes) && p.scope === '') e.only = 'inet6';
  return e;
}
