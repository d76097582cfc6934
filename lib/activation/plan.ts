// SPDX-License-Identifier: MIT
/**
 * The plan phase of activation: from what each listener adopted to where it
 * listens (`{ fd }` targets for adopted sockets, `{ host, port }` / `{ path }`
 * for what it still binds itself), and the JSON-safe {@link ActivationPlan}
 * one process hands another (a cluster primary to its workers). Pure.
 *
 * @internal
 */
import { exposure, overlaps, parseIp, addressSet, type AddressSet } from './address';
import type { RawSocketInfo } from '../binding';
import type { BindEntry, Listener, ListenerConfig } from './listeners';
import { samePath, type Adoption, type Rejection } from './match';

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

/**
 * The targets of a listener configured as `L`: {@link DatagramTarget} for
 * `type: 'datagram'`, {@link StreamTarget} for a stream listener (no `type`, or
 * `'stream'`), either when the config's type is not known statically.
 */
export type TargetOf<L> = 'type' extends keyof L
  ? (L extends { type: 'datagram' } ? DatagramTarget : L extends { type: 'stream' } ? StreamTarget : ListenTarget)
  : StreamTarget;

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

/**
 * Whether self-binding `e` must be IPv6-only: when `ipv6Only` says so, or
 * when `e` is the IPv6 wildcard of a listener that also has IPv4 entries (a
 * dual-stack `[::]` would collide with their IPv4 sockets on the same port).
 */
function v6onlyBind(l: Listener, e: BindEntry): boolean {
  if (l.ipv6Only) return true;
  return e.only === 'inet6' && l.entries.some((x) => x !== e && x.allows.v4 !== null);
}

function selfTarget(l: Listener, e: BindEntry, o: PlanOptions): ListenTarget {
  const port = l.port ?? 0;
  const v6only = v6onlyBind(l, e);
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
  if (l.backlog !== undefined) t.backlog = l.backlog;
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
      const backlog = l.backlog ?? o.fdBacklog;
      out.push(backlog !== undefined ? { fd: a.fd, backlog } : { fd: a.fd });
    }
  }
  if (l.match === 'fdname' && mine.length > 0) return out;
  if (l.path !== undefined) {
    if (mine.length === 0) {
      const p = l.path.startsWith('@') ? `\0${l.path.slice(1)}` : l.path;
      out.push(l.backlog !== undefined ? { path: p, backlog: l.backlog } : { path: p });
    }
    return out;
  }
  if (l.port === undefined) return out;
  const exposed = mine.map((a) => exposure(a.desc)).filter((x): x is AddressSet => x !== null);
  for (const e of l.entries) {
    // An entry is served when an adopted socket reaches into it; the IPv6
    // wildcard only through IPv6 (an AF_INET socket leaves it to bind IPv6-only).
    const reach: AddressSet = e.only === 'inet6' ? { v4: null, v6: e.allows.v6 } : e.allows;
    if (exposed.some((x) => overlaps(x, reach))) continue;
    out.push(selfTarget(l, e, o));
  }
  return out;
}

/**
 * What activation decided, as plain data that survives `JSON.stringify` and
 * another process: per listener its config, the inherited sockets it adopted
 * and its targets, and the environment facts the targets were planned with.
 * A process given the plan listens on its targets without reading LISTEN_*
 * itself (the fds must be valid in that process: a cluster worker's
 * `listen({ fd })` is served through its primary).
 */
export interface ActivationPlan {
  /** Format version of this object. */
  version: 1;
  /** Per listener, in config order. */
  listeners: Array<{
    name: string;
    config: ListenerConfig;
    adopted: Array<{ fd: number; fdname: string; via: string; description: RawSocketInfo }>;
    targets: ListenTarget[];
  }>;
  /** The facts the targets depend on (see {@link PlanOptions}). */
  options: PlanOptions;
}

/** Build the plan of `listeners` given their adoptions. @internal */
export function makePlan(listeners: readonly Listener[], adopted: readonly Adoption[], options: PlanOptions): ActivationPlan {
  return {
    version: 1,
    listeners: listeners.map((l) => ({
      name: l.name,
      config: structuredClone(l.config),
      adopted: adopted.filter((a) => a.listener === l.name).sort((a, b) => a.fd - b.fd)
        .map((a) => ({ fd: a.fd, fdname: a.name, via: a.via, description: { ...a.desc } })),
      targets: planTargets(l, adopted, options),
    })),
    options: { ...options },
  };
}

/** The adoptions a plan records, as the matcher made them. @internal */
export function planAdoptions(plan: ActivationPlan): Adoption[] {
  return plan.listeners.flatMap((l) => l.adopted.map((a) => ({ fd: a.fd, name: a.fdname, desc: a.description, listener: l.name, via: a.via })));
}

/** A self-bind target that cannot bind: the service manager holds its address in a rejected socket. @internal */
export interface HeldAddress {
  target: ListenTarget;
  /** The rejected inherited socket holding it. */
  fd: number;
  desc: RawSocketInfo;
}

/** What a self-bind target will reach: its addresses (inet) or its path (unix). */
function reachOf(t: ListenTarget, o: PlanOptions): { set: AddressSet; port: number; dgram: boolean } | { path: string } | null {
  if ('fd' in t) return null;
  if ('path' in t) return { path: t.path };
  const host = 'address' in t ? t.address : 'host' in t ? t.host : undefined;
  const dgram = 'type' in t;
  const v6only = t.ipv6Only === true;
  if (host === undefined) {
    const six = dgram ? (t as { type: string }).type === 'udp6' : o.ipv6;
    return { set: six ? { v4: v6only ? null : 'all', v6: 'all' } : { v4: 'all', v6: null }, port: t.port, dgram };
  }
  const p = parseIp(host);
  return p ? { set: addressSet(p, !v6only), port: t.port, dgram } : null;
}

/**
 * The self-bind targets of `targets` that collide with a rejected inherited
 * socket: same kind and port with overlapping addresses, or the same unix
 * path. The manager keeps its copy of a rejected socket, so binding there
 * fails with EADDRINUSE — a `.socket` unit that contradicts the app.
 *
 * @internal
 */
export function heldAddresses(targets: readonly ListenTarget[], rejected: ReadonlyArray<Pick<Rejection, 'fd' | 'desc'>>, o: PlanOptions): HeldAddress[] {
  const out: HeldAddress[] = [];
  for (const t of targets) {
    const reach = reachOf(t, o);
    if (!reach) continue;
    for (const r of rejected) {
      const d = r.desc;
      if (!d || d.fileType !== 'socket') continue;
      if ('path' in reach) {
        // Any unix socket of the manager's at the path holds it (an Accept=yes
        // connection's name is its listener's: probing that would start a service).
        if (d.family === 'unix' && d.path !== '' && samePath(reach.path.startsWith('\0') ? `@${reach.path.slice(1)}` : reach.path, d.path)) out.push({ target: t, fd: r.fd, desc: d });
        continue;
      }
      // Only a listening stream socket (or a bound datagram one) keeps others off its address.
      if (d.type === 'stream' && !d.listening) continue;
      if ((d.family !== 'inet' && d.family !== 'inet6') || reach.port === 0 || d.port !== reach.port || (d.type === 'dgram') !== reach.dgram) continue;
      const exp = exposure(d);
      if (exp && overlaps(exp, reach.set)) out.push({ target: t, fd: r.fd, desc: d });
    }
  }
  return out;
}

/** A listen target in words: `127.0.0.1:8080`, `[::]:8080 IPv6-only`, `udp *:53`, `/run/a.sock`, `fd 3`. @internal */
export function targetText(t: ListenTarget): string {
  if ('fd' in t) return `fd ${t.fd}`;
  if ('path' in t) return t.path.startsWith('\0') ? `@${t.path.slice(1)}` : t.path;
  const host = 'address' in t ? t.address : 'host' in t ? t.host : undefined;
  const proto = 'type' in t ? 'udp ' : '';
  const h = host === undefined ? '*' : host.includes(':') ? `[${host}]` : host;
  return `${proto}${h}:${t.port}${t.ipv6Only ? ' IPv6-only' : ''}`;
}
