// SPDX-License-Identifier: MIT
/**
 * Scale to zero: what a server is doing (its open connections and the http
 * responses in flight), the drain that ends every keep-alive connection
 * after its current response (`Connection: close`), and the idle exit that
 * `lifecycle({ idleExitMs })` and the zero-code preload
 * (`SD_ACTIVATE_IDLE_EXIT_MS`) run: after N ms with no open connection,
 * exit, so that the `.socket` unit (or `sd-activate --lazy`) starts the
 * service again on the next connection.
 *
 * An idle exit is refused, with a warning saying why, where no one would
 * start the service again: no inherited sockets, a server bound by the
 * process itself, sockets in the fd store (systemd 252 empties it when the
 * service stops), a systemd service that no `.socket` unit triggers, or a
 * process that is neither a systemd service nor run by `sd-activate --lazy`
 * (which says so with `SD_ACTIVATE_ON_DEMAND=1`; `0` without `--lazy`).
 *
 * @internal
 */
import type * as childProcess from 'node:child_process';
import type * as dgram from 'node:dgram';
import fs = require('node:fs');
import type * as http from 'node:http';
import type * as net from 'node:net';
import { slot } from './slot';
import { inodeOf } from './sockets';
import { warn } from './warnings';

// Needed only when the idle exit is checked (the settle moment): loaded then.
/* eslint-disable @typescript-eslint/no-require-imports */
const storedAny = (): boolean => (require('./fdstore') as typeof import('./fdstore')).storedAny();
const childProcessModule = (): typeof childProcess => require('node:child_process') as typeof childProcess;
/* eslint-enable @typescript-eslint/no-require-imports */

const STORED = 'this process handed sockets to the fd store, which systemd 252 empties when the service stops';

/** What one server is doing. */
interface Traffic {
  /** Connections accepted and not closed yet. */
  open: number;
  /** http responses not finished yet. */
  readonly responses: Set<http.ServerResponse>;
  /** Set by {@link drain}: every response from now on says `Connection: close`. */
  draining: boolean;
  /** Called whenever `open` changes. */
  readonly watchers: Set<() => void>;
}

const traffics = new WeakMap<net.Server, Traffic>();

/** Whether `s` is a `dgram.Socket` rather than a `net.Server` (http and the like). @internal */
export function isDgram(s: net.Server | dgram.Socket): s is dgram.Socket {
  return typeof (s as dgram.Socket).send === 'function' && typeof (s as net.Server).listen !== 'function';
}

/** Start following `server`'s connections and responses (once per server). @internal */
export function traffic(server: net.Server): Traffic {
  let t = traffics.get(server);
  if (t) return t;
  const mine: Traffic = { open: 0, responses: new Set(), draining: false, watchers: new Set() };
  traffics.set(server, mine);
  const changed = (): void => { for (const w of mine.watchers) w(); };
  server.on('connection', (socket: net.Socket) => {
    mine.open++;
    socket.once('close', () => {
      mine.open--;
      changed();
    });
    changed();
  });
  // Before the app's own handler, which may answer at once.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (mine.draining) res.shouldKeepAlive = false;
    mine.responses.add(res);
    res.once('close', () => mine.responses.delete(res));
  });
  return mine;
}

/**
 * Make `server`'s keep-alive connections end after their current response:
 * responses in flight whose headers are not sent yet, and every later one,
 * say `Connection: close`. (Connections accepted but without a request yet
 * are left to be answered: Node's own `close()` leaves them open too.)
 *
 * @internal
 */
export function drain(server: net.Server): void {
  const t = traffics.get(server);
  if (!t) return;
  t.draining = true;
  for (const res of t.responses) if (!res.headersSent) res.shouldKeepAlive = false;
}

/** The unit this process runs in, from /proc/self/cgroup (`app.service`), if any. */
function ownUnit(): string | undefined {
  try {
    for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const last = line.split('/').pop() ?? '';
      if (/^[\w:.\\@-]+\.service$/.test(last)) return last;
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/** Under systemd: why no `.socket` unit would start this service again, or undefined when one does. */
function triggeredBy(): Promise<string | undefined> {
  const unit = ownUnit();
  if (unit === undefined) return Promise.resolve('this process runs under systemd, but its unit could not be read from /proc/self/cgroup');
  const systemctl = ['/usr/bin/systemctl', '/bin/systemctl'].find((f) => fs.existsSync(f)) ?? 'systemctl';
  const user = process.env.MANAGERPID !== undefined;
  const args = [...(user ? ['--user'] : []), 'show', '--property=TriggeredBy', '--value', '--', unit];
  // Not the app's environment: only what finds the manager (no bus address the app was given).
  const env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
  if (user && process.env.XDG_RUNTIME_DIR !== undefined) env.XDG_RUNTIME_DIR = process.env.XDG_RUNTIME_DIR;
  return new Promise((resolve) => {
    childProcessModule().execFile(systemctl, args, { timeout: 10_000, encoding: 'utf8', env }, (err, stdout) => {
      if (err) return resolve(`whether a .socket unit starts ${unit} could not be checked (systemctl show: ${err.message.split('\n')[0]})`);
      const sockets = stdout.split(/\s+/).filter((u) => u.endsWith('.socket'));
      resolve(sockets.length > 0 ? undefined : `no .socket unit starts ${unit} (its TriggeredBy= is empty): nothing would start it again, ` +
        'and systemd 252 empties the fd store of a service that stops');
    });
  });
}

/** Why `s` would refuse connections after an exit (it is not on an inherited socket), or undefined. */
function serverRefusal(s: net.Server | dgram.Socket): string | undefined {
  const inherited = new Set(slot().inherited ?? []);
  const fd = (s as { _handle?: { fd?: number } })._handle?.fd;
  const ino = typeof fd === 'number' && fd >= 0 ? inodeOf(fd) : undefined;
  if (ino !== undefined && inherited.has(ino)) return undefined;
  let where = 'a server';
  try {
    const a = s.address();
    if (a !== null) where = typeof a === 'string' ? a : `${a.address}:${a.port}`;
  } catch {
    // not listening
  }
  return `${where}${typeof fd === 'number' ? ` (fd ${fd})` : ''} is not on an inherited socket (this process bound it): ` +
    'after an exit, its connections would be refused';
}

/** Why an idle exit would lose connections, or undefined when it is safe. @internal */
export async function idleExitRefusal(servers: ReadonlyArray<net.Server | dgram.Socket>): Promise<string | undefined> {
  if ((slot().inherited ?? []).length === 0) {
    return 'this process inherited no sockets (LISTEN_FDS): without a .socket unit (or sd-activate --lazy) to start it again, ' +
      'the next connection would be refused';
  }
  for (const s of servers) {
    const why = serverRefusal(s);
    if (why !== undefined) return why;
  }
  if (storedAny()) return STORED;
  const onDemand = process.env.SD_ACTIVATE_ON_DEMAND;
  if (onDemand === '1') return undefined; // sd-activate --lazy starts it again
  if (onDemand !== undefined) return 'sd-activate runs it without --lazy: after an exit, nothing would start it again';
  if (process.env.INVOCATION_ID !== undefined) return triggeredBy();
  return 'nothing is known to start it again after an exit: it is neither a systemd service (INVOCATION_ID) nor run by ' +
    'sd-activate --lazy';
}

/**
 * The idle timer: armed by {@link IdleExit.start} once the servers listen,
 * it runs `onIdle` after `ms` with no open connection (a datagram restarts
 * the wait). Refused (a `SD_ACTIVATE_IDLE_EXIT_REFUSED` warning, and no
 * timer) where {@link idleExitRefusal} says so.
 *
 * @internal
 */
export class IdleExit {
  readonly #servers: Array<net.Server | dgram.Socket> = [];
  #timer: NodeJS.Timeout | undefined;
  #armed = false;
  #started = false;
  #done = false;

  /**
   * @param ms - how long the servers must be idle
   * @param onIdle - called once, when they were
   */
  constructor(readonly ms: number, private readonly onIdle: () => void) {}

  /** Follow `server` too; one added after {@link IdleExit.start} is checked once it listens. */
  add(server: net.Server | dgram.Socket): void {
    if (this.#servers.includes(server)) return;
    this.#servers.push(server);
    if (isDgram(server)) server.on('message', () => this.#rearm());
    else traffic(server).watchers.add(() => this.#rearm());
    server.once('close', () => {
      const k = this.#servers.indexOf(server);
      if (k >= 0) this.#servers.splice(k, 1);
    });
    if (!this.#started) return;
    const check = (): void => {
      const why = serverRefusal(server);
      if (why !== undefined) this.#refuse(why);
    };
    if (isDgram(server) || server.listening) check();
    else server.once('listening', check);
  }

  /** Check that an idle exit is safe, then start waiting. */
  async start(): Promise<void> {
    this.#started = true;
    const why = await idleExitRefusal(this.#servers);
    if (this.#done) return;
    if (why !== undefined) return this.#refuse(why);
    this.#armed = true;
    this.#rearm();
  }

  #refuse(why: string): void {
    if (this.#done) return;
    this.dispose();
    warn('SD_ACTIVATE_IDLE_EXIT_REFUSED', `idle exit is off: ${why}.`);
  }

  /** Stop waiting for good. */
  dispose(): void {
    this.#done = true;
    this.#armed = false;
    clearTimeout(this.#timer);
  }

  #busy(): boolean {
    return this.#servers.some((s) => !isDgram(s) && traffic(s).open > 0);
  }

  #rearm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#armed || this.#done || this.#busy()) return;
    this.#timer = setTimeout(() => {
      if (this.#done || this.#busy()) return;
      this.dispose();
      // The fd store may have been used since start().
      if (storedAny()) return warn('SD_ACTIVATE_IDLE_EXIT_REFUSED', `idle exit is off: ${STORED}.`);
      this.onIdle();
    }, this.ms);
    this.#timer.unref();
  }
}
