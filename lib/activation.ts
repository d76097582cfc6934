/**
 * Socket activation for Node servers: match the sockets the service manager
 * passed (LISTEN_FDS) to the listeners the app configured, adopt those that
 * fit, close and warn about the rest, and hand the app listen targets for
 * everything still to bind. The decision itself is the pure
 * {@link matchSockets} in `match.ts`; this file does the I/O around it.
 */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { native, type BackendName } from './binding';
import { SdActivateError, warn } from './errors';
import {
  matchSockets,
  normalizeConfig,
  normalizeListener,
  planTargets,
  type Adoption,
  type Candidate,
  type Listener,
  type ListenerConfig,
  type ListenTarget,
  type PlanOptions,
  type RejectReason,
} from './match';
import { closeFd, consume, describeSocket, formatSocket, probeUnixSocket, type SocketDescription } from './sockets';

export type { ListenerConfig, ListenTarget, StreamTarget, DatagramTarget, RejectReason } from './match';

/**
 * Stable codes of the warnings {@link activate} emits:
 * - `SD_ACTIVATE_REJECTED_FD`: an inherited fd matched no listener; it was closed (sockets) or left alone (anything else);
 * - `SD_ACTIVATE_LISTEN_PID_MISMATCH`: LISTEN_FDS was set for another process (a wrapper such as `npm start`, `sh`, nodemon);
 * - `SD_ACTIVATE_MALFORMED_ENV`: LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES could not be parsed;
 * - `SD_ACTIVATE_UNAVAILABLE`: sockets were passed but the native addon could not load;
 * - `SD_ACTIVATE_MISSING_FDNAME`: sockets were passed, but none with the `fdname` a listener
 *   asks for, and it has no `port`/`path` to bind instead, so it will not listen.
 */
export type ActivationWarningCode =
  | 'SD_ACTIVATE_REJECTED_FD'
  | 'SD_ACTIVATE_LISTEN_PID_MISMATCH'
  | 'SD_ACTIVATE_MALFORMED_ENV'
  | 'SD_ACTIVATE_UNAVAILABLE'
  | 'SD_ACTIVATE_MISSING_FDNAME';

/** One warning from {@link activate}. */
export interface ActivationWarning {
  /** Stable code. */
  code: ActivationWarningCode;
  /** What happened, why, and what to change. */
  message: string;
  /** The fd concerned (`SD_ACTIVATE_REJECTED_FD`). */
  fd?: number;
  /** The fd in words, e.g. `tcp 0.0.0.0:8080 (listening)` (`SD_ACTIVATE_REJECTED_FD`). */
  socket?: string;
  /** Why it was rejected (`SD_ACTIVATE_REJECTED_FD`). */
  reason?: RejectReason;
}

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
}

/**
 * What the activation environment was:
 * `none` (not socket-activated), `inherited` (fds were passed to this process),
 * `pid-mismatch` (LISTEN_FDS meant for another process), `malformed`, or
 * `unavailable` (fds passed but no native addon).
 */
export type ActivationEnvironment = 'none' | 'inherited' | 'pid-mismatch' | 'malformed' | 'unavailable';

/** An inherited socket a listener adopted. */
export interface AdoptedSocket {
  fd: number;
  /** Its LISTEN_FDNAMES name (`unknown` when unnamed). */
  fdname: string;
  /** The listener that adopted it. */
  listener: string;
  /** How it matched: the bind entry (`127.0.0.1`, `*`, `(any)`), `path`, or `fdname`. */
  via: string;
  /** The socket in words, e.g. `tcp 127.0.0.1:8080 (listening)`. */
  socket: string;
  description: SocketDescription;
}

/** An inherited fd no listener adopted. */
export interface RejectedSocket {
  fd: number;
  fdname: string;
  /** The fd in words (`tcp 0.0.0.0:8080 (listening)`, `regular file`, `fifo`). */
  socket: string;
  reason: RejectReason;
  /** Why, in words. */
  detail: string;
  /** Whether sd-activate closed it (rejected sockets are closed; non-sockets are left alone). */
  closed: boolean;
  description?: SocketDescription;
}

/** One listener in an {@link ActivationReport}. */
export interface ListenerReport {
  /** Whether it serves sockets inherited from the service manager. */
  inherited: boolean;
  adopted: AdoptedSocket[];
  /** Its current targets (see {@link Activation.targets}). */
  targets: ListenTarget[];
}

/** Everything {@link activate} found and decided, for logging at start-up. JSON-safe. */
export interface ActivationReport {
  backend: BackendName;
  environment: ActivationEnvironment;
  /** LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES as they were before consumption. */
  env: Partial<Record<'LISTEN_PID' | 'LISTEN_FDS' | 'LISTEN_FDNAMES', string>>;
  listeners: Record<string, ListenerReport>;
  adopted: AdoptedSocket[];
  rejected: RejectedSocket[];
  warnings: ActivationWarning[];
}

/** A server {@link Activation.listen} can start: any `net.Server` (http, https, http2, tls) or a `dgram.Socket`. */
export type Listenable = net.Server | dgram.Socket;

const HINTS: Record<RejectReason, string> = {
  'unreadable': '',
  'not-a-socket': '',
  'unsupported': ' Pass it in another way, or remove it from the .socket unit.',
  'not-listening': ' Use Accept=no (the default) in the .socket unit.',
  'kind-mismatch': ' Use ListenStream= for stream listeners and ListenDatagram= for datagram listeners.',
  'address-not-allowed': ' A .socket unit cannot widen what the app exposes: make its Listen*= address match the listener\'s bind, or widen bind.',
  'no-listener': ' Configure a listener for it, or remove it from the .socket unit.',
};

let somaxconnCache: number | undefined;
/** net.core.somaxconn: the kernel's cap on listen(2) backlogs, and what systemd's default Backlog= amounts to. */
function somaxconn(): number {
  if (somaxconnCache === undefined) {
    let n = NaN;
    try {
      n = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    } catch {
      // not Linux, or /proc not mounted
    }
    somaxconnCache = Number.isInteger(n) && n > 0 ? n : 4096;
  }
  return somaxconnCache;
}

let ipv6Cache: boolean | undefined;
function ipv6Available(): boolean {
  if (ipv6Cache === undefined) {
    try {
      ipv6Cache = Object.values(os.networkInterfaces()).some((l) => (l ?? []).some((a) => a.family === 'IPv6'));
    } catch {
      ipv6Cache = false;
    }
  }
  return ipv6Cache;
}

function processName(pid: string): string {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const short = cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd;
    const rel = String(process.ppid) === pid ? 'this process\'s parent, ' : '';
    return short ? `${rel}${short}` : `${rel}pid ${pid}`;
  } catch {
    return 'no longer running';
  }
}

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
export class Activation {
  readonly #listeners = new Map<string, Listener>();
  readonly #adopted: Adoption[];
  readonly #rejected: RejectedSocket[];
  readonly #warnings: ActivationWarning[];
  readonly #environment: ActivationEnvironment;
  readonly #env: ActivationReport['env'];
  readonly #plan: PlanOptions;
  readonly #listening = new Set<string>();

  /** @internal */
  constructor(listeners: Listener[], adopted: Adoption[], rejected: RejectedSocket[], warnings: ActivationWarning[],
    environment: ActivationEnvironment, env: ActivationReport['env'], plan: PlanOptions) {
    for (const l of listeners) this.#listeners.set(l.name, l);
    this.#adopted = adopted;
    this.#rejected = rejected;
    this.#warnings = warnings;
    this.#environment = environment;
    this.#env = env;
    this.#plan = plan;
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
    return this.#adopted.filter((a) => a.listener === name).sort((a, b) => a.fd - b.fd);
  }

  /** How matching went: `inherited` when fds were passed to this process (see {@link ActivationEnvironment}). */
  get environment(): ActivationEnvironment {
    return this.#environment;
  }

  /** The configured listener names, in config order. */
  names(): string[] {
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
   * @throws {@link SdActivateError} `ERR_SD_UNKNOWN_LISTENER` for a name that was not configured.
   * @see sd_listen_fds(3)
   * @example
   * ```ts
   * for (const target of activation.targets('http')) http.createServer(app).listen(target, target.backlog);
   * ```
   */
  targets(name: string): ListenTarget[] {
    const l = this.#get(name);
    return planTargets(l, this.#adopted, this.#plan);
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
  inherited(name: string): boolean {
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
  async listen<S extends Listenable>(name: string, factory: (target: ListenTarget, index: number) => S): Promise<S[]> {
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
        if ('path' in t && !t.path.startsWith('\0')) await removeStaleSocket(t.path);
        const s = factory(t, i);
        if (!(s instanceof net.Server) && !(s instanceof dgram.Socket)) {
          throw new SdActivateError('ERR_SD_INVALID_ARGUMENT',
            `listen(): factory for ${JSON.stringify(name)} returned ${s === null ? 'null' : typeof s}, not a net.Server (http, https, http2, tls) or dgram.Socket`);
        }
        started.push(s);
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
  rebind(name: string, config: ListenerConfig): ListenTarget[] {
    this.#get(name);
    const mine = this.#mine(name);
    if (mine.length > 0) {
      const what = mine.map((a) => `fd ${a.fd}: ${formatSocket(a.desc)}`).join('; ');
      throw new SdActivateError('ERR_SD_REBIND_INHERITED',
        `listener ${JSON.stringify(name)} serves socket(s) inherited from the service manager (${what}); ` +
        'their addresses belong to the .socket unit. Change ListenStream=/ListenDatagram= there and restart ' +
        'the socket and service units (systemctl restart app.socket app.service) instead of rebinding at run time.');
    }
    const l = normalizeListener(name, config);
    this.#listeners.set(name, l);
    this.#listening.delete(name);
    return this.targets(name);
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
    const adopted = (a: Adoption): AdoptedSocket => ({
      fd: a.fd, fdname: a.name, listener: a.listener, via: a.via, socket: formatSocket(a.desc),
      description: { fd: a.fd, ...a.desc },
    });
    const listeners: Record<string, ListenerReport> = {};
    for (const name of this.#listeners.keys()) {
      const mine = this.#mine(name).map(adopted);
      listeners[name] = { inherited: mine.length > 0, adopted: mine, targets: this.targets(name) };
    }
    return {
      backend: native.backend,
      environment: this.#environment,
      env: { ...this.#env },
      listeners,
      adopted: [...this.#adopted].sort((a, b) => a.fd - b.fd).map(adopted),
      rejected: this.#rejected.map((r) => ({ ...r, ...(r.description ? { description: { ...r.description } } : {}) })),
      warnings: this.#warnings.map((w) => ({ ...w })),
    };
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
      if (s instanceof dgram.Socket) s.bind(t as dgram.BindOptions);
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

function closeQuietly(s: Listenable): Promise<void> {
  return new Promise((resolve) => {
    try {
      if (s instanceof dgram.Socket) s.close(() => resolve());
      else if (s.listening) s.close(() => resolve());
      else resolve();
    } catch {
      resolve();
    }
  });
}

/**
 * Remove a unix socket file that nothing accepts on any more (a crashed run's
 * leftover): it is removed only when it is a socket and connecting to it is
 * refused (`ECONNREFUSED`). A live socket, a non-socket file, a missing path
 * or an abstract name (`@x`) are left alone.
 *
 * Two instances racing to start on the same path can both see it stale; only
 * one of them then keeps its socket reachable. Run one instance per path.
 *
 * @returns whether a stale file was removed.
 * @see unix(7)
 * @example
 * ```ts
 * await removeStaleSocket('/run/app/admin.sock');
 * server.listen({ path: '/run/app/admin.sock' });
 * ```
 */
export async function removeStaleSocket(path: string): Promise<boolean> {
  if (typeof path !== 'string' || path === '' || path.startsWith('@') || path.startsWith('\0')) return false;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return false;
  }
  if (!st.isSocket() || (await probeUnixSocket(path)) !== 'stale') return false;
  try {
    fs.unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

function configKey(listeners: Listener[]): string {
  const norm = (c: ListenerConfig): string => {
    const o = c as Record<string, unknown>;
    return JSON.stringify(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, o[k]]));
  };
  return JSON.stringify(listeners.map((l) => [l.name, norm(l.config)]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)));
}

let current: { key: string; activation: Activation } | undefined;

function emitDefault(w: ActivationWarning): void {
  warn(w.message, w.code);
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
export function activate(config: Record<string, ListenerConfig>, options: ActivateOptions = {}): Activation {
  const listeners = normalizeConfig(config);
  if (options === null || typeof options !== 'object') throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', 'activate(): options must be an object');
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
    throw new SdActivateError('ERR_SD_INVALID_ARGUMENT', 'activate(): onWarning must be a function');
  }
  const key = configKey(listeners);
  if (current) {
    if (current.key === key) return current.activation;
    throw new SdActivateError('ERR_SD_ALREADY_ACTIVATED',
      'activate() was already called with a different configuration; the activation environment is consumed once ' +
      'and its sockets are already assigned. Keep the Activation from the first call (use rebind() to move a self-bound listener).');
  }

  const c = consume(options.unsetEnvironment === false ? { unsetEnvironment: false } : {});
  const warnings: ActivationWarning[] = [];
  const env = { ...c.env };
  let environment: ActivationEnvironment = 'none';
  const envText = `LISTEN_PID=${JSON.stringify(env.LISTEN_PID ?? null)} LISTEN_FDS=${JSON.stringify(env.LISTEN_FDS ?? null)}` +
    (env.LISTEN_FDNAMES !== undefined ? ` LISTEN_FDNAMES=${JSON.stringify(env.LISTEN_FDNAMES)}` : '');
  if (native.backend === 'unavailable' && env.LISTEN_FDS !== undefined) {
    environment = 'unavailable';
    warnings.push({ code: 'SD_ACTIVATE_UNAVAILABLE',
      message: `sd-activate: the service manager passed sockets (${envText}) but the native addon could not load ` +
        '(see backendInfo().loadError); they are not used and every listener binds itself.' });
  } else if (c.error) {
    environment = 'malformed';
    warnings.push({ code: 'SD_ACTIVATE_MALFORMED_ENV',
      message: `sd-activate: ignoring a malformed socket-activation environment (${envText}: ${c.error.code}); ` +
        'inherited fds, if any, are left alone and every listener binds itself.' });
  } else if (c.fds.length > 0) {
    environment = 'inherited';
  } else if (env.LISTEN_FDS !== undefined && env.LISTEN_FDS !== '0' && env.LISTEN_PID !== String(process.pid)) {
    environment = 'pid-mismatch';
    const who = env.LISTEN_PID === undefined
      ? 'LISTEN_PID is not set, so they cannot be claimed by this process'
      : `they were meant for pid ${env.LISTEN_PID} (${processName(env.LISTEN_PID)}), not for this process (pid ${process.pid})`;
    warnings.push({ code: 'SD_ACTIVATE_LISTEN_PID_MISMATCH',
      message: `sd-activate: LISTEN_FDS=${env.LISTEN_FDS} was set but ${who}; the sockets are left alone and every listener ` +
        'binds itself. This happens when ExecStart= starts node through a wrapper that runs it as a child ' +
        '(npm start, a shell script, nodemon). Fix: run node directly (ExecStart=/usr/bin/node /path/to/app.js), ' +
        'or make the wrapper replace itself with node (exec node app.js).' });
  }

  const candidates: Candidate[] = c.fds.map(({ fd, name }) => {
    try {
      const { fd: _fd, ...desc } = describeSocket(fd);
      void _fd;
      return { fd, name, desc };
    } catch (err) {
      return { fd, name, error: (err as { code?: string }).code ?? String(err) };
    }
  });
  const result = matchSockets(listeners, candidates);
  const rejected: RejectedSocket[] = [];
  for (const r of result.rejected) {
    const socket = r.desc ? formatSocket(r.desc) : 'unreadable fd';
    let closed = false;
    let closeNote = '';
    if (r.desc && r.desc.fileType === 'socket') {
      try {
        closeFd(r.fd);
        closed = true;
      } catch (err) {
        closeNote = ` (closing it failed: ${(err as { code?: string }).code ?? String(err)})`;
      }
    }
    const named = r.name !== 'unknown' ? ` named ${JSON.stringify(r.name)}` : '';
    const action = closed ? 'closed it' : r.desc?.fileType === 'socket' ? `could not close it${closeNote}` : 'left it open (not a socket sd-activate owns)';
    rejected.push({ fd: r.fd, fdname: r.name, socket, reason: r.reason, detail: r.detail, closed,
      ...(r.desc ? { description: { fd: r.fd, ...r.desc } } : {}) });
    warnings.push({ code: 'SD_ACTIVATE_REJECTED_FD', fd: r.fd, socket, reason: r.reason,
      message: `sd-activate: rejected inherited fd ${r.fd}${named} (${socket}): ${r.detail}; ${action}.${HINTS[r.reason]}` });
  }

  if (environment === 'inherited') {
    const names = [...new Set(c.fds.map((f) => f.name))].map((n) => JSON.stringify(n)).join(', ');
    for (const l of listeners) {
      if (l.match !== 'fdname' || l.port !== undefined || l.path !== undefined) continue;
      if (result.adopted.some((a) => a.listener === l.name)) continue;
      warnings.push({ code: 'SD_ACTIVATE_MISSING_FDNAME',
        message: `sd-activate: listener ${JSON.stringify(l.name)} asks for fdname ${JSON.stringify(l.fdname)}, but no ` +
          `${l.kind} socket of that name was passed (names: ${names}) and it has no port or path to bind instead, ` +
          'so it will not listen. Check FileDescriptorName= in the .socket unit, or give the listener a port.' });
    }
  }

  const activation = new Activation(listeners, result.adopted, rejected, warnings, environment, env, { ipv6: ipv6Available(), fdBacklog: somaxconn() });
  current = { key, activation };
  const emit = options.onWarning ?? emitDefault;
  for (const w of warnings) emit({ ...w });
  return activation;
}
