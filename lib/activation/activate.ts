// SPDX-License-Identifier: MIT
/**
 * Socket activation for Node servers: `activate()` composes the phases
 * (inspect the environment, match the inherited sockets to the configured
 * listeners, settle the rejected, plan the targets) and returns an
 * {@link Activation} that tells each listener where to listen.
 */
import type * as dgram from 'node:dgram';
import net = require('node:net');
import { native, type BackendName, type RawSocketInfo } from '../binding';
import { EX_CONFIG, SdActivateError } from '../errors';
import type { Logger } from '../journal';
import { removeStaleSocketFile } from '../socket-file';
import { formatSocket } from '../sockets';
import { object, optionalFunction, own } from '../validate';
import { warn, warning, type Warning, type WarningCode } from '../warnings';
import { packageDir, packageVersion, slot, takeOwnership } from '../slot';
import { hostFacts, inspect, PLAN_ENV, takeWorkerPlan, type ActivationEnvironment, type Inspection, type ListenEnv } from './inspect';
import { configKey, normalizeConfig, normalizeListener, type Listener, type ListenerConfig } from './listeners';
import { matchSockets, type Adoption } from './match';
import { heldAddresses, makePlan, planAdoptions, planTargets, targetText, type ActivationPlan, type HeldAddress, type ListenTarget, type PlanOptions, type TargetOf } from './plan';
import { adoptedSocket, announce, chooseLogger, Log, settle, type AdoptedSocket, type RejectedSocket } from './settle';
import { isHttpServer, warmUp, warmUpWanted } from '../warmup';

export type { ActivationEnvironment } from './inspect';
export type { ListenerConfig } from './listeners';
export type { RejectReason } from './match';
export type { ActivationPlan, DatagramTarget, ListenTarget, StreamTarget, TargetOf } from './plan';
export type { AdoptedSocket, RejectedSocket } from './settle';

/** The codes of the warnings {@link activate} emits (see {@link WarningCode}). */
export type ActivationWarningCode = Extract<WarningCode,
  | 'SD_ACTIVATE_REJECTED_FD' | 'SD_ACTIVATE_LISTEN_PID_MISMATCH' | 'SD_ACTIVATE_MALFORMED_ENV' | 'SD_ACTIVATE_UNAVAILABLE'
  | 'SD_ACTIVATE_MISSING_FDNAME' | 'SD_ACTIVATE_FDNAMES_IGNORED' | 'SD_ACTIVATE_ADDRESS_HELD' | 'SD_ACTIVATE_SOCKET_PATH_GONE'
  | 'SD_ACTIVATE_REBIND_REFUSED' | 'SD_ACTIVATE_STALE_SOCKET_KEPT'>;

/** One warning from {@link activate}. */
export type ActivationWarning = Warning<ActivationWarningCode>;

/**
 * Options of {@link activate}.
 *
 * @example
 * ```ts
 * activate(config, { onWarning: (w) => log.warn({ code: w.code, fd: w.fd }, w.message) });
 * ```
 */
export interface ActivateOptions {
  /**
   * Receives every warning. Default: `process.emitWarning(message, { type: 'SdActivateWarning', code })`.
   * Called after the activation is complete.
   */
  onWarning?: (warning: ActivationWarning) => void;
  /**
   * Remove LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from `process.env` so
   * child processes neither see them nor mistake their own fds for sockets.
   * Default `true`. Only the first consumer of the environment decides.
   */
  unsetEnvironment?: boolean;
  /**
   * Where the operator's log lines go: `info` gets one line per adopted socket
   * (listener, fd, address) and one per listener that binds itself, so
   * `journalctl -u app` shows what happened; a logger given here also gets
   * each warning's message through `warn`. Any object with `info` and `warn`
   * methods taking one string (`console`, pino, winston); `false`: no log
   * lines. Default: stderr, only when sockets were passed to this process
   * (outside systemd the default is silent), each line prefixed with its
   * priority (`<6>`, `<4>`) when stderr is the journal, where each warning is
   * then also written at `<4>`. Warnings keep going to `onWarning` /
   * `process.emitWarning` whatever this is.
   */
  logger?: Logger | false;
}

/** One listener in an {@link ActivationReport}. */
export interface ListenerReport {
  /** Whether it serves sockets inherited from the service manager. */
  inherited: boolean;
  adopted: AdoptedSocket[];
  /** Its current targets (see {@link Activation.targets}). */
  targets: ListenTarget[];
  /** Self-bind targets whose address the service manager holds (see `ERR_SD_ADDRESS_HELD`), in words. */
  held: string[];
}

/** Everything {@link activate} found and decided, for logging at start-up. JSON-safe. */
export interface ActivationReport {
  backend: BackendName;
  environment: ActivationEnvironment;
  /** LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES as they were before consumption. */
  env: ListenEnv;
  listeners: Record<string, ListenerReport>;
  adopted: AdoptedSocket[];
  rejected: RejectedSocket[];
  warnings: ActivationWarning[];
}

/** A server {@link Activation.listen} can start: any `net.Server` (http, https, http2, tls) or a `dgram.Socket`. */
export type Listenable = net.Server | dgram.Socket;

/**
 * The result of {@link activate}: per listener, the targets to listen on and
 * what was inherited. Obtain it from `activate()`; it is not constructed directly.
 *
 * @see sd_listen_fds(3)
 * @example
 * ```ts
 * const activation = activate({ http: { port: 8080 } });
 * const servers = await activation.listen('http', () => http.createServer(app));
 * log.info(activation.inherited('http') ? 'socket-activated' : 'bound port 8080');
 * ```
 */
export class Activation<C extends Record<string, ListenerConfig> = Record<string, ListenerConfig>> {
  readonly #listeners = new Map<string, Listener>();
  readonly #adopted: Adoption[];
  readonly #rejectedDescs: Array<{ fd: number; desc?: RawSocketInfo }>;
  /** The adoptions of each listener, in fd order. */
  readonly #byListener = new Map<string, Adoption[]>();
  readonly #rejected: RejectedSocket[];
  readonly #warnings: ActivationWarning[];
  readonly #environment: ActivationEnvironment;
  readonly #env: ListenEnv;
  readonly #plan: PlanOptions;
  readonly #listening = new Set<string>();
  readonly #log: Log;

  /** @internal */
  constructor(state: ActivationState) {
    for (const l of state.listeners) this.#listeners.set(l.name, l);
    this.#adopted = state.adopted;
    this.#rejectedDescs = state.held ?? state.rejected.map((r) => ({ fd: r.fd, ...(r.description ? { desc: r.description } : {}) }));
    for (const a of [...state.adopted].sort((x, y) => x.fd - y.fd)) {
      const list = this.#byListener.get(a.listener);
      if (list) list.push(a);
      else this.#byListener.set(a.listener, [a]);
    }
    this.#rejected = state.rejected;
    this.#warnings = state.warnings;
    this.#environment = state.environment;
    this.#env = state.env;
    this.#plan = state.plan;
    this.#log = state.log;
  }

  /** The listener's targets and those of them the manager holds (no throw). */
  #planned(l: Listener): { targets: ListenTarget[]; held: HeldAddress[] } {
    const targets = planTargets(l, this.#mine(l.name), this.#plan);
    return { targets, held: this.#rejectedDescs.length === 0 ? [] : heldAddresses(targets, this.#rejectedDescs, this.#plan) };
  }

  /**
   * Listener `name`'s targets, and the ERR_SD_ADDRESS_HELD text when the
   * manager holds an address among them (else undefined). @internal
   */
  planFor(name: string): { targets: ListenTarget[]; held: string | undefined } {
    const { targets, held } = this.#planned(this.#get(name));
    if (held.length === 0) return { targets, held: undefined };
    const what = held.map((h) => `${targetText(h.target)} (the manager holds ${formatSocket(h.desc, { state: false })}, inherited fd ${h.fd}, rejected)`).join('; ');
    return { targets, held: `listener ${JSON.stringify(name)} cannot bind ${what}: the .socket unit and the app disagree, and binding would fail with ` +
      'EADDRINUSE. Make the unit\'s ListenStream=/ListenDatagram= match the listener\'s address, or change the listener; ' +
      `this is a configuration error (exit status ${EX_CONFIG}: put RestartPreventExitStatus=${EX_CONFIG} in the .service unit so Restart= does not loop).` };
  }

  #get(name: string): Listener {
    const l = this.#listeners.get(name);
    if (!l) {
      throw new SdActivateError('ERR_SD_UNKNOWN_LISTENER',
        `no listener named ${JSON.stringify(name)} was configured (known: ${[...this.#listeners.keys()].map((n) => JSON.stringify(n)).join(', ') || 'none'})`);
    }
    return l;
  }

  #mine(name: string): Adoption[] {
    return this.#byListener.get(name) ?? [];
  }

  /** How matching went: `inherited` when fds were passed to this process (see {@link ActivationEnvironment}). */
  get environment(): ActivationEnvironment {
    return this.#environment;
  }

  /** The configured listener names, in config order. */
  names(): Array<keyof C & string> {
    return [...this.#listeners.keys()];
  }

  /**
   * Where listener `name` should listen: `{ fd, backlog }` for each adopted socket,
   * then `{ host, port }` / `{ port }` / `{ path }` for what is still to bind
   * (a bind entry no inherited socket covers, or the whole listener when
   * nothing was inherited). Datagram listeners get targets for
   * `dgram.createSocket(target)` + `socket.bind(target)`.
   *
   * Node calls listen(2) again on an adopted fd and, for `{ fd }`, takes the
   * backlog only as a separate argument (else 511, shrinking the unit's
   * `Backlog=`): call `server.listen(target, target.backlog)`, or let
   * {@link Activation.listen} do it. The `backlog` is the listener's, else
   * net.core.somaxconn (what systemd's default `Backlog=` amounts to).
   *
   * A self-bound unix path is returned as is; a stale socket file at it (from a
   * crashed run) is removed by {@link Activation.listen}, or by calling
   * {@link removeStaleSocket} before `server.listen(target)`.
   *
   * A self-bind target whose address the service manager holds (an inherited
   * socket on the same port was rejected, e.g. `ListenStream=0.0.0.0:8080` for
   * `bind: '127.0.0.1'`) cannot bind: that is thrown here, before any bind, as
   * `ERR_SD_ADDRESS_HELD` with `exitCode` 78 (EX_CONFIG), for the app to exit with.
   *
   * @throws {@link SdActivateError} `ERR_SD_UNKNOWN_LISTENER` for a name that was not configured;
   *   `ERR_SD_ADDRESS_HELD` (`exitCode` 78) when the service manager holds an address it would bind.
   * @see sd_listen_fds(3)
   * @example
   * ```ts
   * for (const target of activation.targets('http')) http.createServer(app).listen(target, target.backlog);
   * ```
   */
  targets<N extends keyof C & string>(name: N): Array<TargetOf<C[N]>> {
    const { targets, held } = this.planFor(name);
    if (held !== undefined) throw new SdActivateError('ERR_SD_ADDRESS_HELD', held, EX_CONFIG);
    return targets as Array<TargetOf<C[N]>>;
  }

  /**
   * Whether listener `name` serves at least one socket inherited from the
   * service manager.
   *
   * @throws {@link SdActivateError} `ERR_SD_UNKNOWN_LISTENER`
   * @example
   * ```ts
   * if (!activation.inherited('http')) log.info('not socket-activated: binding port 8080 myself');
   * ```
   */
  inherited(name: keyof C & string): boolean {
    this.#get(name);
    return this.#mine(name).length > 0;
  }

  /**
   * Start one server per target of listener `name` and resolve when all
   * listen: `factory(target, index)` makes each server (any `net.Server`:
   * net, http, https, http2, tls; or a `dgram.Socket`), this calls
   * `server.listen(target)` (or `socket.bind(target)`). Before binding a
   * self-bound unix path, a stale socket file there (nothing accepting on it)
   * is removed; a live one is left and the listen fails with `EADDRINUSE`.
   * If any server fails, those already started by this call are closed
   * (an adopted socket with them) and the error is thrown.
   *
   * @returns the servers, in target order (empty when the listener has no targets).
   * @throws {@link SdActivateError} `ERR_SD_UNKNOWN_LISTENER`; `ERR_SD_ALREADY_LISTENING`
   *   when called again for a listener whose inherited sockets are already served;
   *   `ERR_SD_INVALID_ARGUMENT` when `factory` returns something else than a server.
   * @throws the listen error (e.g. `EADDRINUSE`, `EACCES`) of a self-bound target.
   * @see sd_listen_fds(3)
   * @example
   * ```ts
   * const [admin] = await activation.listen('admin', () => http.createServer(adminApp));
   * await activation.listen('dns', (t) => dgram.createSocket(t).on('message', answer));
   * ```
   */
  async listen<N extends keyof C & string, S extends Listenable>(name: N, factory: (target: TargetOf<C[N]>, index: number) => S): Promise<S[]> {
    this.#get(name);
    if (typeof factory !== 'function') {
      throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', 'listen(): factory must be a function returning a server or dgram socket');
    }
    if (this.#listening.has(name) && this.inherited(name)) {
      throw new SdActivateError('ERR_SD_ALREADY_LISTENING',
        `listener ${JSON.stringify(name)} already serves its inherited socket(s); listening on the same fd twice would break both servers`);
    }
    const targets = this.targets(name);
    const started: S[] = [];
    this.#listening.add(name);
    try {
      for (const [i, t] of targets.entries()) {
        if ('path' in t && !t.path.startsWith('\0')) {
          const r = await removeStaleSocketFile(t.path);
          if (r.state === 'refused') this.#log.warn('SD_ACTIVATE_STALE_SOCKET_KEPT', `did not remove the socket file ${t.path} before binding listener ${JSON.stringify(name)}: ${r.reason}; the bind fails with EADDRINUSE if nothing listens there. Remove it yourself, or use a directory only its owner can write.`);
        }
        const s = factory(t, i);
        const kind = this.#get(name).kind;
        if (kind === 'stream' ? !(s instanceof net.Server) : !(s instanceof dgramSocket())) {
          throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', `listen(): factory for ${JSON.stringify(name)} returned ` +
            `${s === null ? 'null' : s instanceof dgramSocket() || s instanceof net.Server ? `a ${s.constructor.name}` : typeof s}, not a ` +
            (kind === 'stream' ? 'net.Server (http, https, http2, tls) for this stream listener' : 'dgram.Socket for this datagram listener'));
        }
        started.push(s);
        // An overlapped restart's new run: compile Node's http code before clients come.
        if ('fd' in t && warmUpWanted() && isHttpServer(s)) await warmUp();
        await startOne(s, t);
      }
    } catch (err) {
      this.#listening.delete(name);
      await Promise.all(started.map(closeQuietly));
      throw err;
    }
    return started;
  }

  /**
   * Reconfigure listener `name` at run time. For a self-bound listener, the new
   * config replaces the old one and its targets are returned (the app closes its
   * old servers and listens on these). An inherited listener is refused: its
   * socket belongs to the `.socket` unit, and binding elsewhere would
   * silently diverge from what the service manager holds open.
   *
   * @returns the new targets.
   * @throws {@link SdActivateError} `ERR_SD_REBIND_INHERITED` for a listener serving inherited
   *   sockets; `ERR_SD_UNKNOWN_LISTENER`; `ERR_SD_INVALID_ARGUMENT` for a bad config.
   * @see systemd.socket(5)
   * @example
   * ```ts
   * try {
   *   for (const t of activation.rebind('http', { port: 9090 })) http.createServer(app).listen(t);
   * } catch (e) {
   *   if (e.code === 'ERR_SD_REBIND_INHERITED') log.warn(e.message); else throw e;
   * }
   * ```
   */
  rebind<const L extends ListenerConfig>(name: keyof C & string, config: L & NoExtraKeys<{ l: L }>['l']): Array<TargetOf<L>> {
    this.#get(name);
    const mine = this.#mine(name);
    if (mine.length > 0) {
      const what = mine.map((a) => `fd ${a.fd}: ${formatSocket(a.desc)}`).join('; ');
      const text = `listener ${JSON.stringify(name)} serves socket(s) inherited from the service manager (${what}); ` +
        'their addresses belong to the .socket unit. Change ListenStream=/ListenDatagram= there and restart ' +
        'the socket and service units (systemctl restart app.socket app.service) instead of rebinding at run time.';
      // Logged as well as thrown: the app may swallow the error, the operator still needs to see it.
      this.#log.warn('SD_ACTIVATE_REBIND_REFUSED', `rebind() refused: ${text}`);
      throw new SdActivateError('ERR_SD_REBIND_INHERITED', text);
    }
    const l = normalizeListener(name, config);
    if (l.kind !== this.#get(name).kind) {
      throw new SdActivateError('ERR_SD_INVALID_ARGUMENT',
        `rebind(): listener ${JSON.stringify(name)} is a ${this.#get(name).kind} listener; it cannot become a ${l.kind} one`);
    }
    const previous = this.#get(name);
    this.#listeners.set(name, l);
    try {
      const targets = this.targets(name) as unknown as Array<TargetOf<L>>; // throws ERR_SD_ADDRESS_HELD
      this.#listening.delete(name);
      return targets;
    } catch (err) {
      this.#listeners.set(name, previous);
      throw err;
    }
  }

  /**
   * Everything activation found: per listener whether it is inherited, its
   * adopted sockets and current targets; all rejected fds with reasons; the
   * warnings. JSON-safe, for logging at start-up.
   *
   * @example
   * ```ts
   * const r = activation.report();
   * for (const s of r.adopted) log.info(`fd ${s.fd} (${s.socket}) -> ${s.listener}`);
   * for (const s of r.rejected) log.warn(`fd ${s.fd} (${s.socket}) rejected: ${s.detail}`);
   * ```
   */
  report(): ActivationReport {
    const adopted = adoptedSocket;
    const listeners: Record<string, ListenerReport> = {};
    for (const name of this.#listeners.keys()) {
      const mine = this.#mine(name).map(adopted);
      const { targets, held } = this.#planned(this.#listeners.get(name)!);
      listeners[name] = { inherited: mine.length > 0, adopted: mine, targets, held: held.map((h) => targetText(h.target)) };
    }
    return {
      backend: native().backend,
      environment: this.#environment,
      env: { ...this.#env },
      listeners,
      adopted: [...this.#adopted].sort((a, b) => a.fd - b.fd).map(adopted),
      rejected: this.#rejected.map((r) => ({ ...r, ...(r.description ? { description: { ...r.description } } : {}) })),
      warnings: this.#warnings.map((w) => ({ ...w })),
    };
  }

  /**
   * What this activation decided, as plain JSON-safe data: per listener its
   * config, the inherited sockets it adopted and its targets. Hand it to
   * another process that serves the same sockets (e.g. over the cluster IPC
   * channel); it reads no LISTEN_* variables of its own.
   *
   * @example
   * ```ts
   * worker.send({ plan: activation.plan() });
   * ```
   */
  plan(): ActivationPlan {
    return makePlan([...this.#listeners.values()], this.#adopted, this.#plan);
  }
}

function startOne(s: Listenable, t: ListenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      s.removeListener('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      s.removeListener('error', onError);
      resolve();
    };
    s.once('error', onError);
    s.once('listening', onListening);
    try {
      if (!(s instanceof net.Server)) s.bind(t as dgram.BindOptions);
      // Node reads `backlog` from the options only for port/path; for { fd } only as an argument.
      else if ('fd' in t && 'backlog' in t && t.backlog !== undefined) s.listen(t, t.backlog);
      else s.listen(t);
    } catch (err) {
      s.removeListener('error', onError);
      s.removeListener('listening', onListening);
      reject(err);
    }
  });
}

/** `dgram.Socket`, loaded when a datagram listener is started (most apps never need node:dgram). */
function dgramSocket(): typeof dgram.Socket {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:dgram') as typeof dgram).Socket;
}

function closeQuietly(s: Listenable): Promise<void> {
  return new Promise((resolve) => {
    try {
      if (!(s instanceof net.Server)) s.close(() => resolve());
      else if (s.listening) s.close(() => resolve());
      else resolve();
    } catch {
      resolve();
    }
  });
}

let current: { key: string; activation: unknown } | undefined;

/**
 * Inherited sockets another part of this copy took first and hands out by
 * claim: the zero-code preload, whose `listen()` calls and the app's
 * `activate()` draw from one pool, so nothing is adopted twice. @internal
 */
export interface SocketPool {
  environment: ActivationEnvironment;
  env: ListenEnv;
  /** Adopt what listener `l` may take. */
  claim(l: Listener): Adoption[];
  /** The sockets nobody has claimed so far (the manager holds their addresses). */
  unclaimed(): Array<{ fd: number; desc?: RawSocketInfo }>;
}

let pool: SocketPool | undefined;

/** Make `activate()` claim from `p` instead of reading the environment. @internal */
export function useSocketPool(p: SocketPool): void {
  pool = p;
}

/** Whether `activate()` has run in this copy (it then owns the sockets it adopted, and closed the rest). @internal */
export function activated(): boolean {
  return current !== undefined;
}

let delegated = false;
/** Another copy of sd-activate owns this process's sockets: its `activate()` decides, once, with a warning. */
function delegate(owner: { dir: string; version: string }, config: unknown, options: unknown): unknown {
  if (!delegated) {
    delegated = true;
    warn('SD_ACTIVATE_SECOND_COPY', `two copies of sd-activate are loaded in this process: ${packageDir} (${packageVersion()}) and ` +
      `${owner.dir} (${owner.version}), which took the inherited sockets first. activate() of the first uses the second's, so ` +
      'nothing is adopted twice; install one copy (npm dedupe) to silence this.');
  }
  return slot().activate!(config, options);
}

/**
 * Match the sockets the service manager passed to this process
 * (`sd_listen_fds_with_names(3)`) to the app's listeners, and return an
 * {@link Activation} that tells each listener where to listen.
 *
 * - Matching is by address, never by fd order: an inet socket goes to a
 *   listener with its port when one of the listener's `bind` entries allows
 *   everything the socket exposes (so an inherited `0.0.0.0` socket never
 *   serves `bind: '127.0.0.1'`, and a dual-stack `::` socket never serves `*`
 *   alone); a unix socket to the listener with its `path`; a listener with
 *   `fdname` takes sockets by LISTEN_FDNAMES name instead.
 * - The kind must fit (stream/datagram), stream sockets must listen, and only
 *   sockets Node can serve are adopted. Each fd is adopted at most once.
 * - Every other inherited socket is closed with a `SD_ACTIVATE_REJECTED_FD`
 *   warning naming the fd, what it is and why (fds that are not sockets are
 *   reported but left open).
 * - Listeners (or bind entries) with no inherited socket get targets to bind
 *   themselves: partial activation.
 * - LISTEN_FDS meant for another pid (the app started through `npm start`,
 *   `sh`, nodemon) or malformed: a warning, nothing adopted, nothing closed,
 *   every listener binds itself. Never throws for what the environment says.
 * - Once per process: the environment is consumed (and LISTEN_* removed from
 *   `process.env` unless `unsetEnvironment: false`); a later call with an equal
 *   configuration returns the same Activation.
 *
 * Inherited unix sockets are never unlinked by sd-activate (nor by Node, which
 * only unlinks paths it bound itself).
 *
 * @param config - listeners by name (see {@link ListenerConfig}).
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a malformed config (checked
 *   before the environment is read); `ERR_SD_ALREADY_ACTIVATED` when called again with a
 *   different configuration (use `rebind()` to change a listener at run time).
 * @see sd_listen_fds(3), sd_listen_fds_with_names(3), systemd.socket(5)
 * @example
 * ```ts
 * const activation = activate({
 *   http:  { port: 8080, bind: ['127.0.0.1', '::1'] },
 *   admin: { path: '/run/app/admin.sock' },
 * });
 * for (const target of activation.targets('http')) http.createServer(app).listen(target, target.backlog);
 * await activation.listen('admin', () => http.createServer(adminApp));
 * ```
 */
export function activate<const C extends Record<string, ListenerConfig>>(config: C & NoExtraKeys<C>, options: ActivateOptions = {}): Activation<C> {
  const listeners = normalizeConfig(config);
  options = own(options, 'activate(): options');
  optionalFunction(options.onWarning, 'activate(): onWarning');
  const key = configKey(listeners);
  if (current) {
    if (current.key === key) return current.activation as unknown as Activation<C>; // an equal config: the same listeners
    throw new SdActivateError('ERR_SD_ALREADY_ACTIVATED',
      'activate() was already called with a different configuration; the activation environment is consumed once ' +
      'and its sockets are already assigned. Keep the Activation from the first call (use rebind() to move a self-bound listener).');
  }
  const owner = takeOwnership('activate', activate as (config: unknown, options?: unknown) => unknown);
  if (owner !== 'mine') return delegate(owner, config, options) as Activation<C>;
  if (options.logger !== undefined && options.logger !== false) {
    const l = options.logger as unknown as Record<string, unknown> | null;
    if (l === null || typeof l !== 'object' || typeof l.info !== 'function' || typeof l.warn !== 'function') {
      throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', 'activate(): logger must be an object with info and warn methods, or false');
    }
  }
  // A cluster worker serves what its primary decided (forkWorker()): the same config, the primary's plan.
  const plan = takeWorkerPlan();
  if (plan) {
    let fromPlan: Activation | undefined;
    try {
      fromPlan = activationFromPlan(plan);
    } catch {
      fromPlan = undefined;
    }
    if (fromPlan && configKey(plan.listeners.map((l) => normalizeListener(l.name, l.config))) === key) {
      current = { key, activation: fromPlan };
      return fromPlan as unknown as Activation<C>;
    }
    warn('SD_ACTIVATE_PLAN_MISMATCH', `this cluster worker was handed its primary's activation plan (${PLAN_ENV}), but ` +
      (fromPlan ? 'for another listener configuration than the one given to activate() here' : 'it is not a valid plan') +
      '; the worker serves none of the inherited sockets and every listener binds itself. Call activate() with the same ' +
      'configuration in the primary and in the workers.');
  }
  // Under the zero-code preload, the sockets are its: claim from them, and
  // leave what no listener takes to the preload's settle moment (a listen()
  // the app makes later may still take it).
  const found = pool ?? inspect(options);
  const matched = pool ? { adopted: listeners.flatMap((l) => pool!.claim(l)), rejected: [] } : matchSockets(listeners, (found as Inspection).candidates);
  const settled = pool ? { rejected: [], warnings: [] } : settle(found as Inspection, matched, listeners);
  const log = new Log(options.onWarning as ((w: Warning) => void) | undefined, chooseLogger(options.logger, found.environment === 'inherited'));
  const activation = new Activation<C>({ listeners, adopted: matched.adopted, ...settled, warnings: settled.warnings as ActivationWarning[],
    environment: found.environment, env: found.env, plan: hostFacts(), log, ...(pool ? { held: pool.unclaimed() } : {}) });
  const selfBound: Array<{ listener: string; what: string }> = [];
  for (const l of listeners) {
    const { targets, held } = activation.planFor(l.name);
    if (held !== undefined) {
      settled.warnings.push(warning('SD_ACTIVATE_ADDRESS_HELD', held));
      continue;
    }
    const own = targets.filter((t) => !('fd' in t)).map(targetText);
    if (own.length > 0) selfBound.push({ listener: l.name, what: own.join(', ') });
  }
  current = { key, activation };
  announce(settled, log, matched.adopted, selfBound);
  return activation;
}

/** Refuses, at compile time, listener options `ListenerConfig` does not have (a misspelt `host`, say). */
export type NoExtraKeys<C> = { [K in keyof C]: { [P in Exclude<keyof C[K], keyof ListenerConfig>]: never } };

/** Everything an {@link Activation} is made of. @internal */
export interface ActivationState {
  listeners: Listener[];
  adopted: Adoption[];
  rejected: RejectedSocket[];
  warnings: ActivationWarning[];
  environment: ActivationEnvironment;
  env: ListenEnv;
  plan: PlanOptions;
  log: Log;
  /** The sockets whose addresses the manager holds, when not the rejected ones (under the preload: the unclaimed). */
  held?: Array<{ fd: number; desc?: RawSocketInfo }>;
}

/**
 * An {@link Activation} from another process's {@link Activation.plan}: the
 * same listeners, adoptions and targets, without reading this process's
 * environment. Its report lists no rejections or warnings (the process
 * that inspected the environment emitted those).
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a plan that is not one
 * @internal
 */
export function activationFromPlan(plan: ActivationPlan): Activation {
  object(plan, 'plan');
  if (plan.version !== 1 || !Array.isArray(plan.listeners)) {
    throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', `not an activation plan of version 1 (got version ${String(plan.version)})`);
  }
  const listeners = plan.listeners.map((l) => normalizeListener(l.name, l.config));
  return new Activation({ listeners, adopted: planAdoptions(plan), rejected: [], warnings: [],
    environment: plan.listeners.some((l) => l.adopted.length > 0) ? 'inherited' : 'none', env: {}, plan: { ...plan.options },
    log: new Log(undefined, null) });
}
