// SPDX-License-Identifier: MIT
/**
 * The match phase of activation: which inherited socket goes to which
 * configured listener, and why the others are rejected. Pure: it reads socket
 * descriptions (from the inspect phase), closes nothing and warns nobody, so
 * the policy can be property-tested and benchmarked without file descriptors.
 *
 * One policy, two ways in: {@link Claims} takes listeners one at a time (a
 * preload that sees one `listen()` call at a time) and decides rejections only
 * when settled; {@link matchSockets} is the batch form `activate()` uses, the
 * same claims made for every listener at once.
 *
 * @internal
 */
import nodePath = require('node:path');
import { describeSet, exposure, overlaps, specificity, within, type AddressSet } from './address';
import type { RawSocketInfo } from '../binding';
import type { RejectReason } from '../warnings';
import type { Listener } from './listeners';

export type { RejectReason } from '../warnings';

/** An fd to be matched: its number, LISTEN_FDNAMES name and description (or why it could not be described). */
export interface Candidate {
  fd: number;
  name: string;
  desc?: RawSocketInfo;
  /** Set when the fd could not be described (e.g. `EBADF`). */
  error?: string;
}


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

// ---------------------------------------------------------------- fitting

function kindOf(desc: RawSocketInfo): 'stream' | 'datagram' {
  return desc.type === 'dgram' ? 'datagram' : 'stream';
}

function proto(desc: RawSocketInfo): string {
  return desc.type === 'dgram' ? 'udp' : 'tcp';
}

/** Whether a configured unix path names the socket bound at `actual`. @internal */
export function samePath(configured: string, actual: string): boolean {
  if (configured === actual) return true;
  if (configured.startsWith('@') || actual.startsWith('@') || !actual.startsWith('/')) return false;
  // A relative configured path means the same file as the absolute one bound by the manager.
  return !configured.startsWith('/') && nodePath.resolve(configured) === actual;
}

/** A candidate Node can serve, with what it exposes (inet) precomputed. */
interface Servable {
  c: Candidate & { desc: RawSocketInfo };
  /** Its position among the candidates: results keep candidate order. */
  index: number;
  kind: 'stream' | 'datagram';
  unix: boolean;
  /** What an inet socket exposes (null for unix sockets, and for an address that cannot be parsed). */
  exp: AddressSet | null;
}

/** Why a candidate cannot be served at all, or the servable candidate. */
function classify(c: Candidate, index: number): Servable | Omit<Rejection, 'fd' | 'name' | 'desc'> {
  const d = c.desc;
  if (!d) return { reason: 'unreadable', detail: `it cannot be examined${c.error ? ` (${c.error})` : ''}` };
  if (d.fileType !== 'socket') return { reason: 'not-a-socket', detail: 'it is not a socket' };
  const inet = d.family === 'inet' || d.family === 'inet6';
  if (!inet && d.family !== 'unix') return { reason: 'unsupported', detail: `Node cannot serve ${d.family || 'unknown'}-family sockets` };
  if (d.type !== 'stream' && !(d.type === 'dgram' && inet)) {
    return { reason: 'unsupported', detail: `Node cannot serve ${d.family === 'unix' ? 'unix ' : ''}${d.type} sockets` };
  }
  if (d.type === 'stream' && !d.listening) {
    return { reason: 'not-listening', detail: 'it is not listening (a connected socket, as Accept=yes passes); Node can only serve listening sockets' };
  }
  return { c: c as Servable['c'], index, kind: kindOf(d), unix: !inet, exp: inet ? exposure(d) : null };
}

/** The keys under which a claim may look for `s`: its name, and its port or `unix`. */
function keysOf(s: Servable): [string, string] {
  return [`name:${s.c.name}`, s.unix ? 'unix' : `port:${s.c.desc.port}`];
}

/** The key under which listener `l` finds the sockets it may take. */
function claimKey(l: Listener): string {
  return l.match === 'fdname' ? `name:${l.fdname}` : l.match === 'unix' ? 'unix' : `port:${l.port}`;
}

/** How much an inet socket exposes: a family's whole space counts 2, one address 1. */
function width(s: AddressSet): number {
  const part = (x: string | null): number => (x === null ? 0 : x === 'all' ? 2 : 1);
  return part(s.v4) + part(s.v6);
}

/** Names beat addresses; among addresses, the narrower bind entry wins. */
const BY_NAME = 3;

/**
 * How listener `l` fits servable `s`: the entry it matches by (`fdname`,
 * `path`, a bind entry's text) and its rank (higher wins), or undefined.
 */
function fit(l: Listener, s: Servable): { via: string; rank: number } | undefined {
  if (l.kind !== s.kind) return undefined;
  if (l.match === 'fdname') {
    // A name never widens: a port, bind or path given with it must hold as well.
    if (l.fdname !== s.c.name) return undefined;
    if (l.path !== undefined ? !pathFits(l, s) : l.port !== undefined && !addressFit(l, s)) return undefined;
    return { via: 'fdname', rank: BY_NAME };
  }
  if (l.match === 'unix') return pathFits(l, s) ? { via: 'path', rank: 0 } : undefined;
  return addressFit(l, s);
}

function pathFits(l: Listener, s: Servable): boolean {
  return s.unix && s.c.desc.path !== '' && samePath(l.path!, s.c.desc.path);
}

/** The most specific of `l`'s bind entries that allows everything `s` exposes. */
function addressFit(l: Listener, s: Servable): { via: string; rank: number } | undefined {
  const d = s.c.desc;
  if (s.exp === null || l.port === undefined) return undefined;
  // Port 0 is "any free port": it names no inherited socket, except that a
  // named listener's port 0 leaves the port to the unit (its bind still holds).
  if (l.port === 0 ? l.match !== 'fdname' : l.port !== d.port) return undefined;
  // The entries that may take a socket of this family: the wildcards only
  // their own, except that `*` beside `::*` takes a dual-stack socket's IPv4.
  const pair = d.family === 'inet6' && l.entries.some((e) => e.only === 'inet6');
  const admitting = l.entries.filter((e) => e.only === undefined || e.only === d.family || (pair && e.only === 'inet'));
  // Everything the socket exposes, family by family, lies within them...
  const exp = s.exp;
  for (const f of ['v4', 'v6'] as const) {
    const part: AddressSet = f === 'v4' ? { v4: exp.v4, v6: null } : { v4: null, v6: exp.v6 };
    if (exp[f] !== null && !admitting.some((e) => within(part, e.allows))) return undefined;
  }
  // ...and it is taken through the most specific of them, one of its own family first.
  let best: { via: string; rank: number } | undefined;
  for (const e of admitting) {
    if (!overlaps(exp, e.allows)) continue;
    const rank = specificity(e.allows) - (e.only !== undefined && e.only !== d.family ? 0.5 : 0);
    if (!best || rank > best.rank) best = { via: e.text, rank };
  }
  return best;
}

/** What a listener allows, in words: `bind 127.0.0.1, ::1, ipv6Only`, `port 8080, bind any address`, `path /run/a.sock`. */
function allowedText(l: Listener): string {
  if (l.path !== undefined) return `path ${l.path}`;
  const bind = `bind ${l.entries.map((e) => e.text === '(any)' ? 'any address' : e.text).join(', ')}${l.ipv6Only ? ', ipv6Only' : ''}`;
  return l.match === 'fdname' ? `port ${l.port}, ${bind}` : bind;
}

/** Listeners indexed by what can bring them together with a socket: its name, its port, or being a unix listener. */
class ListenerIndex {
  readonly all = new Set<Listener>();
  readonly byName = new Map<string, Listener[]>();
  readonly byPort = new Map<number, Listener[]>();
  readonly unix: Listener[] = [];

  add(l: Listener): void {
    this.all.add(l);
    if (l.match === 'fdname') push(this.byName, l.fdname!, l);
    else if (l.match === 'unix') this.unix.push(l);
    else if (l.port !== undefined && l.port !== 0) push(this.byPort, l.port, l);
  }

  remove(l: Listener): void {
    if (!this.all.delete(l)) return;
    const drop = (list: Listener[] | undefined): void => {
      const i = list ? list.indexOf(l) : -1;
      if (i >= 0) list!.splice(i, 1);
    };
    if (l.match === 'fdname') drop(this.byName.get(l.fdname!));
    else if (l.match === 'unix') drop(this.unix);
    else if (l.port !== undefined) drop(this.byPort.get(l.port));
  }

  /** The listeners that could take `s`, in registration order (names first). */
  forSocket(s: Servable): Listener[] {
    const named = this.byName.get(s.c.name) ?? [];
    const rest = s.unix ? this.unix : this.byPort.get(s.c.desc.port) ?? [];
    return named.length === 0 ? rest : [...named, ...rest];
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

// ---------------------------------------------------------------- claims

/**
 * The match phase, one listener at a time. Made from the inspected
 * candidates (and, for a batch, every listener known up front); each
 * {@link Claims.claim} adopts what a listener may take among the sockets
 * still unclaimed; {@link Claims.settle} decides the rejections.
 *
 * Rules: the fd must be a socket Node can serve (inet/inet6 stream or
 * datagram, unix stream), and a stream socket must listen. A listener with
 * `fdname` equal to the fd's name takes it (when the kind fits); otherwise a
 * unix socket goes to the listener whose `path` equals its path, and an inet
 * socket to a listener with its port one of whose bind entries allows
 * everything the socket exposes. Among the listeners known to the claims, a
 * name beats an address, a more specific entry (an exact address over
 * `*`/`::*` over no `bind`) beats a wider one, then the first listener known
 * wins: a claim leaves a socket to a better listener already known, so the
 * order of the claims does not change the answer. Each fd is adopted at most once.
 *
 * @internal
 */
export class Claims {
  readonly #index = new ListenerIndex();
  readonly #pending = new Map<number, Servable>();
  /** The pending candidates a listener could take, by `name:N`, `port:P` or `unix`: a claim looks only there. */
  readonly #pendingBy = new Map<string, Set<Servable>>();
  readonly #fixed: Array<{ index: number; rejection: Rejection }> = [];
  readonly #adopted: Array<{ index: number; adoption: Adoption }> = [];
  /** The fd each one-socket listener ({@link Claims.claimOne}) took. */
  readonly #took = new Map<Listener, number>();
  /** The listener that took each fd through {@link Claims.claimOne}. */
  readonly #holder = new Map<number, Listener>();
  /** Fds the app took over itself (see {@link Claims.take}): never released. */
  readonly #given = new Set<number>();

  /**
   * @param candidates - the inspected fds, in LISTEN_FDS order
   * @param known - listeners known before any claim (a batch: all of them)
   */
  constructor(candidates: readonly Candidate[], known: readonly Listener[] = []) {
    const seen = new Set<number>();
    candidates.forEach((c, index) => {
      const s = seen.has(c.fd) ? { reason: 'unreadable' as const, detail: 'it is listed twice' } : classify(c, index);
      seen.add(c.fd);
      if ('c' in s) this.#add(s);
      else this.#fixed.push({ index, rejection: { fd: c.fd, name: c.name, ...(c.desc ? { desc: c.desc } : {}), ...s } });
    });
    for (const l of known) this.#index.add(l);
  }

  /** The fds not claimed so far that Node could serve, in LISTEN_FDS order. */
  unclaimed(): number[] {
    return [...this.#pending.keys()];
  }

  /**
   * Adopt for listener `l` every unclaimed socket it may take and no better
   * listener known to these claims may take. `l` becomes known if it was not.
   *
   * @returns the adoptions, in fd order (empty when nothing fits)
   */
  claim(l: Listener): Adoption[] {
    if (!this.#index.all.has(l)) this.#index.add(l);
    const out: Adoption[] = [];
    for (const s of this.#pendingBy.get(claimKey(l)) ?? []) {
      const mine = fit(l, s);
      if (!mine) continue;
      if (this.#winner(s)?.l !== l) continue;
      const adoption: Adoption = { fd: s.c.fd, name: s.c.name, desc: s.c.desc, listener: l.name, via: mine.via };
      out.push(adoption);
      this.#adopted.push({ index: s.index, adoption });
    }
    for (const a of out) this.#remove(this.#pending.get(a.fd)!);
    return out;
  }

  /**
   * Adopt for `l` the one unclaimed socket that fits it best, for a caller
   * whose listener serves one fd (a `listen()` call: one server, one socket):
   * among the sockets `l` may take and no better known listener may, the
   * widest (a dual-stack `[::]` over `0.0.0.0` or an IPv6-only `[::]`, over a
   * single address: the closest to what the call would bind itself), then the
   * first in LISTEN_FDS order. The others stay unclaimed for later claims;
   * settled unclaimed, their rejection says which fd `l` serves instead.
   *
   * @param accept - a further condition on the socket (e.g. unix only)
   */
  claimOne(l: Listener, accept?: (desc: RawSocketInfo) => boolean): Adoption | undefined {
    if (!this.#index.all.has(l)) this.#index.add(l);
    let best: { s: Servable; via: string; width: number } | undefined;
    for (const s of this.#pendingBy.get(claimKey(l)) ?? []) {
      const mine = fit(l, s);
      if (!mine || (accept && !accept(s.c.desc)) || this.#winner(s)?.l !== l) continue;
      const w = s.exp === null ? 0 : width(s.exp);
      if (!best || w > best.width || (w === best.width && s.index < best.s.index)) best = { s, via: mine.via, width: w };
    }
    if (!best) return undefined;
    const { s } = best;
    const adoption: Adoption = { fd: s.c.fd, name: s.c.name, desc: s.c.desc, listener: l.name, via: best.via };
    this.#adopted.push({ index: s.index, adoption });
    this.#took.set(l, s.c.fd);
    this.#holder.set(s.c.fd, l);
    this.#remove(s);
    return adoption;
  }

  /**
   * Record that unclaimed `fd` is served by a caller that named the fd itself
   * (an app's own `listen({ fd })`): it is claimed by `by`, whatever its address.
   *
   * @returns the adoption, or undefined when `fd` is not unclaimed
   */
  take(fd: number, by: string): Adoption | undefined {
    const s = this.#pending.get(fd);
    if (!s) {
      // Adopted through a duplicate and now named by the app itself: Node closes it with that
      // server, so it never comes back among the unclaimed (its number may be reused).
      if (this.#holder.has(fd)) this.#given.add(fd);
      return undefined;
    }
    const adoption: Adoption = { fd, name: s.c.name, desc: s.c.desc, listener: by, via: 'fd' };
    this.#adopted.push({ index: s.index, adoption });
    this.#remove(s);
    return adoption;
  }

  /**
   * Forget listener `l` (its server closed): it no longer contests a socket,
   * and what it adopted goes back among the unclaimed (the fds are still
   * open), for a later claim.
   */
  forget(l: Listener): void {
    this.#index.remove(l);
    for (const a of this.#adopted.filter((x) => x.adoption.listener === l.name && this.#holder.get(x.adoption.fd) === l)) this.release(a.adoption.fd);
  }

  /** Put an adopted fd back among the unclaimed: a later claim may adopt it again. */
  release(fd: number): void {
    if (this.#given.has(fd)) return;
    const i = this.#adopted.findIndex((a) => a.adoption.fd === fd);
    if (i < 0) return;
    const [{ index, adoption }] = this.#adopted.splice(i, 1) as [{ index: number; adoption: Adoption }];
    for (const [l, took] of this.#took) if (took === fd) this.#took.delete(l);
    this.#holder.delete(fd);
    const s = classify({ fd, name: adoption.name, desc: adoption.desc }, index);
    if ('c' in s) this.#add(s);
  }

  #add(s: Servable): void {
    this.#pending.set(s.c.fd, s);
    for (const k of keysOf(s)) {
      const set = this.#pendingBy.get(k);
      if (set) set.add(s);
      else this.#pendingBy.set(k, new Set([s]));
    }
  }

  #remove(s: Servable): void {
    this.#pending.delete(s.c.fd);
    for (const k of keysOf(s)) this.#pendingBy.get(k)?.delete(s);
  }

  /** The best known listener for `s`: highest rank, then first known. */
  #winner(s: Servable): { l: Listener; rank: number } | undefined {
    let best: { l: Listener; rank: number } | undefined;
    for (const l of this.#index.forSocket(s)) {
      const f = fit(l, s);
      if (f && (!best || f.rank > best.rank)) best = { l, rank: f.rank };
    }
    return best;
  }

  /**
   * Decide: every socket still unclaimed is rejected, with the reason read
   * against the listeners known. Every candidate lands in exactly one list,
   * each list in candidate order.
   */
  settle(): MatchResult {
    const rejected = [...this.#fixed];
    for (const s of this.#pending.values()) rejected.push({ index: s.index, rejection: this.#reject(s) });
    const order = <T>(xs: Array<{ index: number } & T>): Array<{ index: number } & T> => xs.sort((a, b) => a.index - b.index);
    return {
      adopted: order(this.#adopted).map((x) => x.adoption),
      rejected: order(rejected).map((x) => x.rejection),
    };
  }

  #reject(s: Servable): Rejection {
    const { c } = s;
    const d = c.desc;
    const out = (reason: RejectReason, detail: string): Rejection => ({ fd: c.fd, name: c.name, desc: d, reason, detail });
    const winner = this.#winner(s);
    const took = winner && this.#took.get(winner.l);
    if (took !== undefined) {
      return out('no-listener', `${winner!.l.name} covers it too, but serves fd ${took} (one listen() call serves one socket: ` +
        'make one call per address)');
    }
    if (winner) return out('no-listener', `listener ${JSON.stringify(winner.l.name)} may take it but did not claim it`);
    const named = this.#index.byName.get(c.name) ?? [];
    const narrower = named.find((l) => l.kind === s.kind);
    if (narrower) {
      const what = s.unix ? (d.path === '' ? 'it is unnamed' : `it is bound to ${d.path}`) : s.exp ? `it exposes ${describeSet(s.exp)} on port ${d.port}` : `its address ${JSON.stringify(d.address)} cannot be parsed`;
      return out('address-not-allowed', `it is named ${JSON.stringify(c.name)}, but ${what}, more than listener ${JSON.stringify(narrower.name)} allows (${allowedText(narrower)}); a name never widens what a listener allows`);
    }
    const nameMiss = named[0];
    const wrongName = (): Rejection => out('kind-mismatch',
      `listener ${JSON.stringify(nameMiss!.name)} takes fdname ${JSON.stringify(c.name)} but is a ${nameMiss!.kind} listener`);
    if (s.unix) {
      if (nameMiss) return wrongName();
      return out('no-listener', d.path === '' ? 'it is unnamed' : `no listener is configured for path ${d.path}`);
    }
    if (s.exp === null) return out('unsupported', `its address ${JSON.stringify(d.address)} cannot be parsed`);
    const onPort = this.#index.byPort.get(d.port) ?? [];
    const fitting = onPort.find((l) => l.kind === s.kind);
    if (fitting) {
      return out('address-not-allowed', `it exposes ${describeSet(s.exp)}, more than listener ${JSON.stringify(fitting.name)} allows (${allowedText(fitting)})`);
    }
    if (onPort.length > 0) {
      const l = onPort[0]!;
      return out('kind-mismatch', `listener ${JSON.stringify(l.name)} on port ${d.port} is a ${l.kind} listener, this is a ${s.kind} socket`);
    }
    if (nameMiss) return wrongName();
    return out('no-listener', `no listener is configured for ${proto(d)} port ${d.port}`);
  }
}

/**
 * The batch match: every listener known at once and each claiming in
 * config order, then settled (see {@link Claims} for the rules).
 *
 * @internal
 */
export function matchSockets(listeners: readonly Listener[], candidates: readonly Candidate[]): MatchResult {
  const claims = new Claims(candidates, listeners);
  for (const l of listeners) claims.claim(l);
  return claims.settle();
}
