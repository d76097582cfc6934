// SPDX-License-Identifier: MIT
/**
 * The zero-code preload's session: the app's own `listen()` calls are its
 * listener config. Each call becomes one listener for the same claims
 * `activate()` uses (lib/activation/match.ts), and listens on the inherited
 * socket it claims instead of binding; at the settle moment the sockets no
 * call claimed are warned about (and kept unserved, so a late `listen()` still
 * adopts them), and `READY=1` is sent.
 *
 * Order of events in one process:
 * 1. load: the variables are read, `NOTIFY_SOCKET` is taken out of the
 *    environment; in the process `LISTEN_PID` names, the sockets are taken
 *    (close-on-exec, `LISTEN_*` removed) and `SD_ACTIVATE_TAKEN_BY` left for
 *    the children, in case this is a wrapper (npm, a shell) that never listens;
 * 2. the first `listen()`: the environment's warnings; the preload leaves
 *    `NODE_OPTIONS` (children no longer load it) and the marker;
 * 3. every `listen()`: adopt a duplicate of the best-fitting socket, or bind;
 * 4. the settle moment, when no `listen()` happened and none is pending for
 *    `SD_ACTIVATE_SETTLE_MS`: warnings for the unclaimed, then `READY=1`.
 *
 * @internal
 */
import type * as dns from 'node:dns';
import type * as net from 'node:net';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { activated, useSocketPool, type SocketPool } from '../activation/activate';
import { hostFacts, inspect, processName, type ActivationEnvironment, type Inspection, type ListenEnv } from '../activation/inspect';
import { normalizeListener, type Listener, type ListenerConfig } from '../activation/listeners';
import { Claims, type Adoption, type Rejection } from '../activation/match';
import { chooseLogger, closeRejected, Log, rejectionWarning } from '../activation/settle';
import type * as LifecycleModule from '../lifecycle';
import { IdleExit, traffic } from '../idle';
import { stderrLogger } from '../journal';
import type * as NotifyModule from '../notify';
import { closeFd, dupFd, formatSocket, inodeOf } from '../sockets';
import { slot } from '../slot';
import { warn } from '../warnings';
import type { FdNameEntry, PreloadConfig } from './config';
import { readListenCall, type ListenCall, type ListenCallback } from './listen-call';
import { withoutPreload } from './node-options';

// Needed at the settle moment and at the stop, not before the first request:
// loaded then (bench/startup.js measures the preload's start).
/* eslint-disable @typescript-eslint/no-require-imports */
const lifecycleModule = (): typeof LifecycleModule => require('../lifecycle') as typeof LifecycleModule;
const notifyModule = (): typeof NotifyModule => require('../notify') as typeof NotifyModule;
const dnsModule = (): typeof dns => require('node:dns') as typeof dns;
/* eslint-enable @typescript-eslint/no-require-imports */

/** The variable a process that took the sockets leaves for its children (a wrapper's child learns where they went). */
export const TAKEN_BY = 'SD_ACTIVATE_TAKEN_BY';

type ListenFn = (this: net.Server, ...args: unknown[]) => net.Server;
/** Node's own fields of a server that the preload reads: the handle once listening, the id that makes a pending lookup moot. */
type ServerInternals = net.Server & { _handle?: unknown; _listeningId: number };

function handleOf(server: net.Server): unknown {
  return (server as ServerInternals)._handle;
}
type InetCall = Extract<ListenCall, { kind: 'inet' }>;
type PathCall = Extract<ListenCall, { kind: 'path' }>;

/** How long an idle exit lets requests in flight finish when SD_ACTIVATE_GRACEFUL_STOP does not say. */
const IDLE_DRAIN_MS = 10_000;

const UNSERVED = 'kept it open and unserved until exit (no connection is accepted from it; a later listen() of its address still adopts it)';

/** A call's address in words: `127.0.0.1:3000`, `[::1]:3000`, `3000` (any address), a path. */
function callText(call: InetCall | PathCall, host: string | undefined): string {
  if (call.kind === 'path') return call.path;
  if (host === undefined) return String(call.port);
  return `${host.includes(':') ? `[${host}]` : host}:${call.port}`;
}

/** Whether `server` is the cluster primary's internal round-robin server (Node's, not the app's). */
function clusterInternal(server: net.Server): boolean {
  const l = server.listeners('connection');
  if (l.length !== 1 || (l[0] as { name?: string }).name !== 'fail' || process.env.NODE_UNIQUE_ID !== undefined) return false;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 20;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack.includes('round_robin_handle');
}

/** One process's zero-code preload. @internal */
export class PreloadSession implements SocketPool {
  readonly #config: PreloadConfig;
  readonly #listen: ListenFn;
  #found: Inspection | undefined;
  #claims = new Claims([]);
  #log = new Log(undefined, null);
  #first = true;
  /** The servers the app listened with and has not closed (a graceful stop closes them). */
  readonly #servers = new Set<net.Server>();
  /**
   * The listener each server's current listen() made: it leaves the claims
   * when the server closes (its handle goes at close(), before the 'close'
   * event that waits for connections to drain).
   */
  readonly #holding = new Map<net.Server, Listener>();
  #lookups = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #warned = new Set<number>();
  #ready = false;
  #stopping = false;
  #idle: IdleExit | undefined;
  /** Duplicates the cluster primary's round-robin servers listen on, and the listener that claimed each. */
  readonly #forCluster = new Set<{ l: Listener; fd: number; ino: number }>();
  /** SCHED_NONE: per address the workers ask for, the claim they share and the duplicates handed out. */
  readonly #shared = new Map<string, { l: Listener; inherited: number; ino: number; dups: Set<number> }>();
  /** Whether the primary serves its workers on an inherited socket (READY=1 then needs no server of its own). */
  #clusterServing = false;
  /** Sockets the preload can never serve (datagram): closed at the first settle. */
  #unservable: Rejection[] = [];

  /**
   * @param config - from the variables
   * @param listen - Node's own `net.Server.prototype.listen`
   */
  constructor(config: PreloadConfig, listen: ListenFn) {
    this.#config = config;
    this.#listen = listen;
  }

  /** How the activation environment was, once read (`none` before). */
  get environment(): ActivationEnvironment {
    return this.#found?.environment ?? 'none';
  }

  /** LISTEN_* as they were before the preload consumed them. */
  get env(): ListenEnv {
    return this.#found?.env ?? {};
  }

  /** Load time: hide NOTIFY_SOCKET, take the sockets when they are this process's. */
  start(): void {
    if (!this.#config.inherit && process.env.NOTIFY_SOCKET !== undefined) {
      slot().notifySocket = process.env.NOTIFY_SOCKET;
      delete process.env.NOTIFY_SOCKET;
    }
    if (process.env.LISTEN_PID === String(process.pid)) {
      this.#take();
      if (this.#found?.environment === 'inherited') {
        process.env[TAKEN_BY] = String(process.pid);
        this.#watchCluster();
      }
    }
  }

  /**
   * In a node:cluster primary with SCHED_NONE, Node makes each worker's
   * listening handle itself (no listen() call to match): a worker's request
   * for one (`queryServer`) is matched as that worker's call, and, when an
   * inherited socket fits, gets a duplicate of it as the fd to share. Workers
   * asking for the same address share the one claim.
   */
  #watchCluster(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cl = require('node:cluster') as typeof import('node:cluster').default;
    cl.on('fork', (worker) => {
      worker.process.prependListener('internalMessage', (m: Record<string, unknown>) => {
        if (m === null || typeof m !== 'object' || m.cmd !== 'NODE_CLUSTER' || m.act !== 'queryServer') return;
        if (cl.schedulingPolicy !== cl.SCHED_NONE || (typeof m.fd === 'number' && m.fd >= 0)) return;
        const fd = this.#shareForWorkers(m);
        if (fd === undefined) return;
        // Node makes a handle of an fd only without an address (it asserts so).
        m.fd = fd;
        m.address = null;
        m.port = 0;
      });
    });
  }

  #shareForWorkers(m: Record<string, unknown>): number | undefined {
    const port = Number(m.port);
    const args = port > 0 ? [{ port, host: typeof m.address === 'string' ? m.address : undefined, ipv6Only: Boolean((Number(m.flags) || 0) & 1) }]
      : typeof m.address === 'string' ? [m.address] : [];
    const call = readListenCall(args);
    if (call.kind !== 'inet' && call.kind !== 'path') return undefined;
    if (this.#first) this.#becomeServer();
    this.#sweep();
    this.#touch();
    const key = `${String(m.address)}|${port}|${String(m.addressType)}`;
    let shared = this.#shared.get(key);
    if (!shared) {
      const l = this.#listener(call, call.kind === 'inet' ? call.host : undefined, ' for the cluster workers');
      const a = l ? this.#claims.claimOne(l, call.kind === 'path' ? (d) => d.family === 'unix' : undefined) : undefined;
      if (!l || !a) {
        if (l) this.#log.info(`${l.name}: binds itself (no inherited socket for it)`);
        return undefined;
      }
      shared = { l, inherited: a.fd, ino: inodeOf(a.fd)!, dups: new Set() };
      this.#shared.set(key, shared);
      this.#adopted(a, 'each worker shares a duplicate of it (SCHED_NONE)');
    }
    try {
      const fd = dupFd(shared.inherited);
      shared.dups.add(fd);
      this.#clusterServing = true;
      return fd;
    } catch (err) {
      this.#log.warn('SD_ACTIVATE_ADOPT_FAILED', `${shared.l.name}: could not duplicate inherited fd ${shared.inherited} (${(err as Error).message}); the worker binds itself.`);
      return undefined;
    }
  }

  /** Read (consume) the environment, once; the sockets become this session's pool. */
  #take(): void {
    if (this.#found) return;
    if (activated()) {
      // activate() ran first: it owns what it adopted and closed the rest.
      this.#found = { environment: 'none', env: {}, warnings: [], candidates: [] };
    } else {
      const found = inspect();
      this.#found = found;
      const stream = found.candidates.filter((c) => c.desc?.type !== 'dgram');
      this.#unservable = found.candidates.filter((c) => c.desc?.type === 'dgram').map((c) => ({ fd: c.fd, name: c.name, desc: c.desc!,
        reason: 'unsupported', detail: 'it is a datagram socket, and the zero-code preload serves only listen() calls (stream); ' +
          'serve it with activate() in the app' }));
      this.#claims = new Claims(stream);
      useSocketPool(this);
    }
    const inherited = this.#found.environment === 'inherited';
    this.#log = new Log(undefined, this.#config.log === 'warn' ? null : chooseLogger(undefined, inherited));
  }

  /** The first listen() of this process: it is the server, not a wrapper. */
  #becomeServer(): void {
    this.#first = false;
    this.#take();
    // Only a process that serves stops gracefully: a wrapper keeps Node's default SIGTERM.
    if (this.#config.stopMs > 0) process.on('SIGTERM', () => this.#stop());
    for (const w of this.#found!.warnings) this.#log.emit(w);
    const by = process.env[TAKEN_BY];
    // A cluster worker's listen() is routed to its primary, which holds the sockets: nothing to warn about.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const worker = by !== undefined && (require('node:cluster') as { isWorker: boolean }).isWorker;
    if (by !== undefined && !worker && /^\d+$/.test(by) && by !== String(process.pid) && this.#found!.environment === 'none') {
      this.#log.warn('SD_ACTIVATE_LISTEN_PID_MISMATCH', `the sockets the service manager passed were taken by pid ${by} ` +
        `(${processName(by)}), which loaded sd-activate/register but has not called listen(); this process (pid ${process.pid}) ` +
        'binds itself. This happens when ExecStart= starts the server through a wrapper (npm start, npx, a shell script, ' +
        'a framework CLI that spawns the server, a node:cluster primary). Fix: start the server\'s own node process directly ' +
        '(ExecStart=/usr/bin/node --import sd-activate/register /path/to/server.js).');
    }
    delete process.env[TAKEN_BY];
    if (!this.#config.inherit && process.env.NODE_OPTIONS !== undefined) {
      const rest = withoutPreload(process.env.NODE_OPTIONS);
      if (rest === '') delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = rest;
    }
  }

  /** `net.Server.prototype.listen`, as the app calls it. */
  listenHook(server: net.Server, args: unknown[]): net.Server {
    if (clusterInternal(server)) return this.#forWorkers(server, args);
    if (this.#first) this.#becomeServer();
    const call = readListenCall(args);
    this.#track(server);
    this.#touch();
    if (call.kind === 'other') return this.#listen.apply(server, args);
    if (handleOf(server)) return this.#listen.apply(server, args); // Node throws ERR_SERVER_ALREADY_LISTEN
    if (call.kind === 'fd') {
      const a = this.#claims.take(call.fd, `listen({ fd: ${call.fd} })`);
      if (a) this.#adopted(a, 'the app listens on it itself');
      return this.#listen.apply(server, args);
    }
    this.#sweep(); // claims of servers closed since (listen, close, listen) are over
    if (this.environment !== 'inherited') return this.#listen.apply(server, args);
    if (call.kind === 'inet' && call.host !== undefined && isIP(call.host) === 0) {
      // A host name: resolved as Node's listen() resolves it (dns.lookup, first result), then matched as that address.
      // As Node's own lookup: a close() or another listen() meanwhile makes this one moot (_listeningId).
      if (call.signal !== undefined) return this.#listen.apply(server, args); // Node checks the signal synchronously
      const rest = call.cb ? args.slice(0, -1) : args;
      if (call.cb) server.once('listening', call.cb);
      const id = ++(server as ServerInternals)._listeningId;
      this.#lookups++;
      dnsModule().lookup(call.host, (err, ip) => {
        this.#lookups--;
        this.#touch();
        if ((server as ServerInternals)._listeningId !== id || handleOf(server)) return;
        try {
          if (err) this.#listen.apply(server, rest); // Node looks it up again and reports the error its own way
          else this.#decide(server, call, ip, rest, undefined);
        } catch (e) {
          process.nextTick(() => server.emit('error', e)); // thrown here, it would be an uncaught exception
        }
      });
      return server;
    }
    return this.#decide(server, call, call.kind === 'inet' ? call.host : undefined, args, call.cb);
  }

  /** Listen on the inherited socket this call claims, else bind as asked. */
  #decide(server: net.Server, call: InetCall | PathCall, host: string | undefined, args: unknown[], cb: ListenCallback | undefined): net.Server {
    const l = this.#listener(call, host);
    if (!l) return this.#listen.apply(server, args);
    this.#holding.set(server, l);
    // A path call takes unix sockets only, even mapped by name (a name never widens a unix listener to the network).
    const a = this.#claims.claimOne(l, call.kind === 'path' ? (d) => d.family === 'unix' : undefined);
    if (!a) {
      this.#log.info(`${l.name}: binds itself (no inherited socket for it)`);
      return this.#listen.apply(server, args);
    }
    let fd: number;
    try {
      fd = dupFd(a.fd);
    } catch (err) {
      this.#end(server);
      this.#log.warn('SD_ACTIVATE_ADOPT_FAILED', `${a.listener}: could not duplicate inherited fd ${a.fd} ` +
        `(${(err as Error).message}); it binds itself, which fails with EADDRINUSE if the manager holds the address.`);
      return this.#listen.apply(server, args);
    }
    this.#adopted(a, `listening on fd ${fd}, a duplicate`);
    // Node takes the backlog of { fd } only as an argument; without one, 511 would cut the unit's Backlog= short.
    const options = call.signal !== undefined ? { fd, signal: call.signal } : { fd };
    const backlog = call.backlog ?? hostFacts().fdBacklog;
    try {
      const out = cb ? this.#listen.call(server, options, backlog, cb) : this.#listen.call(server, options, backlog);
      // Node knows a pipe's name only when it bound it: server.address() gives the path, as after a normal listen.
      if (call.kind === 'path') (server as net.Server & { _pipeName?: string })._pipeName = call.path;
      return out;
    } catch (err) {
      this.#end(server);
      try {
        closeFd(fd);
      } catch {
        // Node took it
      }
      throw err;
    }
  }

  /** `server`'s claim is over (closed, or listening again): its listener leaves, its socket is free again. */
  #end(server: net.Server): void {
    const l = this.#holding.get(server);
    if (!l) return;
    this.#holding.delete(server);
    this.#claims.forget(l);
  }

  /** End the claims of servers that no longer listen (closed, or failed to listen). */
  #sweep(): void {
    for (const server of [...this.#holding.keys()]) if (!handleOf(server)) this.#end(server);
    // Node takes the round-robin server's handle and closes it (its fd, our duplicate) with the
    // last worker using it: a duplicate no longer open as that socket is free again.
    for (const h of [...this.#forCluster]) {
      if (inodeOf(h.fd) === h.ino) continue;
      this.#forCluster.delete(h);
      this.#claims.forget(h.l);
    }
    for (const [key, sh] of this.#shared) {
      for (const fd of [...sh.dups]) if (inodeOf(fd) !== sh.ino) sh.dups.delete(fd);
      if (sh.dups.size === 0) {
        this.#shared.delete(key);
        this.#claims.forget(sh.l);
      }
    }
  }

  /**
   * The node:cluster primary's round-robin server, listening for its workers'
   * `listen()` (Node makes it with the address a worker asked for): that call
   * is the authorisation. A socket it may take is adopted through a
   * duplicate, which Node closes with the last worker using it; the inherited
   * fd stays for the next workers.
   */
  #forWorkers(server: net.Server, args: unknown[]): net.Server {
    if (this.#first) this.#becomeServer();
    const call = readListenCall(args);
    if (this.environment !== 'inherited' || (call.kind !== 'inet' && call.kind !== 'path')) return this.#listen.apply(server, args);
    this.#sweep();
    this.#touch();
    const l = this.#listener(call, call.kind === 'inet' ? call.host : undefined, ' for the cluster workers');
    const a = l ? this.#claims.claimOne(l, call.kind === 'path' ? (d) => d.family === 'unix' : undefined) : undefined;
    if (!l || !a) {
      if (l) this.#log.info(`${l.name}: binds itself (no inherited socket for it)`);
      return this.#listen.apply(server, args);
    }
    let fd: number;
    try {
      fd = dupFd(a.fd);
    } catch (err) {
      this.#claims.forget(l);
      this.#log.warn('SD_ACTIVATE_ADOPT_FAILED', `${l.name}: could not duplicate inherited fd ${a.fd} (${(err as Error).message}); it binds itself.`);
      return this.#listen.apply(server, args);
    }
    this.#forCluster.add({ l, fd, ino: inodeOf(fd)! });
    this.#clusterServing = true;
    this.#adopted(a, `the primary hands its connections to the workers, from fd ${fd}, a duplicate`);
    return this.#listen.call(server, { fd }, call.backlog ?? hostFacts().fdBacklog);
  }

  /** Follow a server the app listens with: the settle timer restarts when it listens; it is forgotten when it closes. */
  #track(server: net.Server): void {
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    if (this.#config.stopMs > 0 || this.#config.idleMs > 0) traffic(server); // for the drain, and the idle exit
    this.#idle?.add(server);
    const onListening = (): void => this.#touch();
    server.on('listening', onListening);
    server.once('close', () => {
      this.#servers.delete(server);
      server.off('listening', onListening);
      this.#end(server);
    });
  }

  #adopted(a: Adoption, how: string): void {
    const named = a.name !== 'unknown' ? ` named ${JSON.stringify(a.name)}` : '';
    const late = this.#warned.delete(a.fd) ? ', after the settle moment' : '';
    this.#log.info(`${a.listener}: adopted inherited fd ${a.fd}${named} (${formatSocket(a.desc, { state: false })}, via ${a.via}; ${how}${late})`);
  }

  /** The listener a call authorises: its port and host (no host: any address, as Node binds), or its path. */
  #listener(call: InetCall | PathCall, host: string | undefined, whose = ''): Listener | undefined {
    const name = `listen(${callText(call, host)})${whose}`;
    const mapped = this.#config.fdnames.find((e) => fits(e, call, host));
    let config: ListenerConfig;
    if (call.kind === 'path') config = mapped ? { fdname: mapped.name } : { path: call.path };
    else {
      const v6any = host === '::' || host === '::0';
      const bind = host === undefined || (v6any && !call.ipv6Only) ? undefined : host === '0.0.0.0' ? '*' : v6any ? '::*' : host;
      config = { port: mapped ? 0 : call.port, ...(bind !== undefined ? { bind } : {}), ...(call.ipv6Only ? { ipv6Only: true } : {}),
        ...(mapped ? { fdname: mapped.name } : {}) };
    }
    try {
      return normalizeListener(name, config);
    } catch {
      return undefined; // an address the policy cannot read (Node will say what is wrong with it)
    }
  }

  // ---------------------------------------------------------------- SocketPool (activate() under the preload)

  /** activate()'s claim for listener `l` (the app is a server from now on). */
  claim(l: Listener): Adoption[] {
    this.#take();
    if (this.#first) this.#becomeServer();
    this.#touch();
    return this.#claims.claim(l);
  }

  /** The sockets nobody has claimed so far, for activate()'s held-address check. */
  unclaimed(): Array<{ fd: number; desc?: import('../binding').RawSocketInfo }> {
    const pending = new Set(this.#claims.unclaimed());
    return (this.#found?.candidates ?? []).filter((c) => pending.has(c.fd)).map((c) => ({ fd: c.fd, ...(c.desc ? { desc: c.desc } : {}) }));
  }

  // ---------------------------------------------------------------- settle, ready, stop

  #touch(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#settle(), this.#config.settleMs);
    this.#timer.unref();
  }

  /** The settle moment: warn about each socket still unclaimed (once), then READY=1 (once). */
  #settle(): void {
    this.#timer = undefined;
    if (this.#lookups > 0) return this.#touch();
    for (const r of this.#unservable) this.#log.emit(rejectionWarning(r, closeRejected(r).action));
    this.#unservable = [];
    for (const r of this.#claims.settle().rejected) {
      if (this.#warned.has(r.fd)) continue;
      this.#warned.add(r.fd);
      this.#log.emit(rejectionWarning(r, r.desc?.fileType === 'socket' ? UNSERVED : 'left it open (not a socket sd-activate owns)'));
    }
    if (this.#ready || this.#stopping) return;
    const listening = [...this.#servers].filter((s) => s.listening);
    if (listening.length > 0 && this.#config.idleMs > 0 && !this.#idle) {
      this.#idle = new IdleExit(this.#config.idleMs, () => this.#stop(this.#config.idleMs));
      for (const s of this.#servers) this.#idle.add(s);
      void this.#idle.start();
    }
    if (!this.#config.ready) return;
    if (listening.length === 0 && !this.#clusterServing) return;
    this.#ready = true;
    const where = listening.map((s) => {
      let a: ReturnType<net.Server['address']> = null;
      try {
        a = s.address();
      } catch {
        // getsockname failed: say nothing of it
      }
      return typeof a === 'string' ? a : a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '?';
    });
    const status = (listening.length > 0 ? `Listening on ${where.join(', ')}` : 'Serving the cluster workers').slice(0, 200);
    lifecycleModule().send(() => notifyModule().ready(status)).catch((err: unknown) => {
      warn('SD_ACTIVATE_NOTIFY_FAILED', `READY=1 not sent: ${(err as Error).message}`);
    });
  }

  /**
   * SIGTERM with SD_ACTIVATE_GRACEFUL_STOP, or the idle exit after `idleMs`:
   * STOPPING=1, stop accepting, let requests finish, exit.
   */
  #stop(idleMs?: number): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#idle?.dispose();
    if (idleMs !== undefined) {
      stderrLogger.info(`sd-activate: idle for ${idleMs} ms (no open connection): exiting with status 0; the next connection starts the app again`);
    }
    // STOPPING=1 and the close both start now, before any other SIGTERM handler
    // runs (the app's or its framework's): nothing is accepted from here on.
    const { closeServers, exitSoon, exitStatusOf, send } = lifecycleModule();
    const { notify, stopping } = notifyModule();
    const told = send(() => (idleMs === undefined ? stopping() : notify({ STOPPING: 1, STATUS: `Idle for ${idleMs} ms: exiting` }))).catch((err: unknown) => {
      warn('SD_ACTIVATE_NOTIFY_FAILED', `STOPPING=1 not sent: ${(err as Error).message}`);
    });
    if (this.#timer) clearTimeout(this.#timer);
    const closed = closeServers([...this.#servers].filter((x) => x.listening), this.#config.stopMs || IDLE_DRAIN_MS);
    // The app's lifecycle() has work to finish after the close (onStop) and exits
    // itself. Any other handler (a framework's) may never exit: the preload does.
    const othersExit = idleMs === undefined && slot().lifecycleExits === true;
    void (async () => {
      await told;
      await closed;
      if (!othersExit) exitSoon(idleMs !== undefined ? 0 : exitStatusOf(process.exitCode));
    })();
  }
}

/** Whether `SD_ACTIVATE_FDNAMES` entry `e` names this call's address. */
function fits(e: FdNameEntry, call: InetCall | PathCall, host: string | undefined): boolean {
  if (call.kind === 'path') return e.path !== undefined && (e.path === call.path || (!e.path.startsWith('@') && path.resolve(e.path) === path.resolve(call.path)));
  if (e.port !== call.port) return false;
  return e.host === undefined || e.host === call.host || e.host === host;
}
