// SPDX-License-Identifier: MIT
/**
 * The service manager's file descriptor store (`FileDescriptorStoreMax=`):
 * hand sockets to the manager under a name so they outlive a restart of the
 * service and come back through `LISTEN_FDS` / `LISTEN_FDNAMES`.
 *
 * The restart recipe without a `.socket` unit: on the first start a listener
 * binds its own port and is stored; on every later start (`systemctl restart`,
 * or a crash with `Restart=`) the manager passes it back, activation adopts it
 * (matching is by address, so the name is informational), and connections
 * made during the restart wait in the socket's backlog instead of being
 * refused.
 *
 * ```ini
 * # app.service
 * [Service]
 * Type=notify
 * ExecStart=/usr/bin/node /srv/app/server.js
 * FileDescriptorStoreMax=8
 * # Stored fds are kept across `systemctl restart` and crashes with Restart=;
 * # `systemctl stop` empties the store (systemd >= 254: unless
 * # FileDescriptorStorePreserve=yes).
 * Restart=on-failure
 * ```
 *
 * ```js
 * // server.js
 * const sd = require('sd-activate');
 * const activation = sd.activate({ web: { port: 8080 } });
 * const [server] = await activation.listen('web', () => http.createServer(app));
 * sd.storeListeners(activation, { web: server }); // only what was self-bound
 * sd.lifecycle({ servers: [server] });            // READY=1, STOPPING=1 on SIGTERM
 * ```
 *
 * A self-bound unix socket path is unlinked by Node when its server closes;
 * the stored socket would then be unreachable after the restart. The
 * {@link lifecycle} helper therefore does not close such a stored server on
 * stop (the process exit releases it); close it yourself only if you also
 * {@link removeFds} it.
 *
 * @see sd_notify(3) `FDSTORE=1`, systemd.service(5) `FileDescriptorStoreMax=`
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import type { Activation, ListenerConfig } from './activation/activate';
import { invalid } from './errors';
import { notify } from './notify';
import { socketFd } from './sockets';
import { integer, isValidFdName, own } from './validate';

/** Something whose socket can be stored: fds, or a bound Node socket or server. */
export type StorableSocket = number | number[] | net.Server | net.Socket | dgram.Socket;

/** Options of {@link storeFds}. */
export interface StoreFdsOptions {
  /**
   * Whether the manager watches the fds and drops them when they report
   * POLLHUP or POLLERR. Default `true`; `false` sends `FDPOLL=0` (systemd >= 246),
   * e.g. for connected sockets whose peer may hang up.
   */
  poll?: boolean;
}

function fdsOf(target: StorableSocket): number[] {
  if (typeof target === 'number') return [integer(target, 'fd')];
  if (Array.isArray(target)) {
    if (target.length === 0) invalid('storeFds needs at least one fd');
    return target.map((fd) => integer(fd, 'each fd'));
  }
  return [socketFd(target)];
}

/**
 * Check an fd name as systemd does (`fdname_is_valid`): 1 to 255 ASCII
 * characters, no control characters and no `:` (it separates the names in
 * `LISTEN_FDNAMES`). @internal
 */
export function fdName(name: unknown): string {
  if (!isValidFdName(name)) {
    invalid(`an fd name must be 1 to 255 printable ASCII characters without ":" (got ${JSON.stringify(name)})`);
  }
  return name;
}

/**
 * Hand sockets to the service manager's fd store under `name`
 * (`FDSTORE=1`, `FDNAME=`), in one datagram. The manager keeps duplicates
 * (this process keeps its own) and passes them back on the next start, in
 * `LISTEN_FDS` with `name` in `LISTEN_FDNAMES`. Needs
 * `FileDescriptorStoreMax=` > 0 in the unit; otherwise the manager ignores
 * the fds (and logs why). Store listening sockets: the manager drops an fd as
 * soon as it reports POLLHUP (unless `poll: false`).
 *
 * @param name - the fd name (1-255 printable ASCII characters, no `:`)
 * @param target - an fd, several fds, or a listening `net.Server` (http too),
 *   a `net.Socket` or a bound `dgram.Socket`
 * @returns `true` sent, `false` not supported (`NOTIFY_SOCKET` unset)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a bad name or
 *   fd, or a server that is not listening yet
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`), e.g.
 *   `EBADF` for a closed fd
 * @see sd_notify(3) `FDSTORE=1`
 * @example
 * ```ts
 * server.listen(8080, () => storeFds('web', server));
 * ```
 */
export function storeFds(name: string, target: StorableSocket, options: StoreFdsOptions = {}): boolean {
  options = own(options, 'storeFds options');
  const fields: Record<string, string | number> = { FDSTORE: 1, FDNAME: fdName(name) };
  if (options.poll === false) fields.FDPOLL = 0;
  const sent = notify(fields, { fds: fdsOf(target) });
  const pipeName = (target as { _pipeName?: unknown })._pipeName;
  if (sent && typeof pipeName === 'string' && !pipeName.startsWith('\0')) unlinkingStored.add(target as object);
  if (sent) storedThisRun = true;
  return sent;
}

let storedThisRun = false;
/** Whether this process handed fds to the fd store (an idle exit would lose them on systemd 252). @internal */
export function storedAny(): boolean {
  return storedThisRun;
}

/** Stored servers whose close() would unlink their socket path (Node bound the path itself). */
const unlinkingStored = new WeakSet<object>();

/**
 * Whether closing `server` would unlink the path of a socket that was handed
 * to the fd store (so the stored socket would become unreachable). @internal
 */
export function storedPathServer(server: object): boolean {
  return unlinkingStored.has(server);
}

/** One socket {@link storeListeners} handed to the fd store. */
export interface StoredListener {
  /** The listener name, also the `FDNAME=` it was stored under. */
  listener: string;
  /** The fd (in this process). */
  fd: number;
}

/**
 * Hand every self-bound server of an {@link Activation} to the fd store,
 * each under its listener's name, so the next start inherits it
 * (zero-downtime restarts without a `.socket` unit). Servers on inherited
 * sockets are skipped: the manager holds those already (from the store or a
 * `.socket` unit). Inherited sockets are matched to listeners by address on
 * the next start, so the name is informational — except for a listener
 * configured with `fdname`, which matches by name: name such a listener like
 * its `fdname`.
 *
 * @param activation - what {@link activate} returned
 * @param servers - the listening servers per listener name (one or several each)
 * @returns what was stored (empty when nothing was self-bound or `NOTIFY_SOCKET` is unset)
 * @throws {@link SdActivateError} `ERR_SD_UNKNOWN_LISTENER` for a name the activation does not
 *   know; `ERR_SD_INVALID_ARGUMENT` for a server that is not listening or a name that is
 *   not a valid fd name
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3) `FDSTORE=1`, systemd.service(5) `FileDescriptorStoreMax=`
 * @example
 * ```ts
 * const [server] = await activation.listen('web', () => http.createServer(app));
 * storeListeners(activation, { web: server });
 * ```
 */
export function storeListeners<C extends Record<string, ListenerConfig>>(
  activation: Activation<C>,
  servers: Partial<Record<keyof C & string, net.Server | dgram.Socket | Array<net.Server | dgram.Socket>>>,
  options: StoreFdsOptions = {},
): StoredListener[] {
  if (servers === null || typeof servers !== 'object') invalid('servers must be an object of listener name -> server(s)');
  const inherited = new Set(activation.report().adopted.map((a) => a.fd));
  const plan: Array<{ name: string; target: net.Server | dgram.Socket; fd: number }> = [];
  for (const [name, value] of Object.entries(servers)) {
    activation.inherited(name); // throws ERR_SD_UNKNOWN_LISTENER
    fdName(name);
    for (const target of Array.isArray(value) ? value : [value]) {
      const fd = socketFd(target);
      if (!inherited.has(fd)) plan.push({ name, target, fd });
    }
  }
  const stored: StoredListener[] = [];
  for (const { name, target, fd } of plan) {
    if (!storeFds(name, target, options)) break; // not supported: nothing to store
    stored.push({ listener: name, fd });
  }
  return stored;
}

/**
 * Remove every fd stored under `name` from the manager's fd store
 * (`FDSTOREREMOVE=1`, `FDNAME=`); the manager closes its copies.
 *
 * @returns `true` sent, `false` not supported (`NOTIFY_SOCKET` unset)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a bad name
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3) `FDSTOREREMOVE=1`
 * @example
 * ```ts
 * removeFds('web'); // the next start binds afresh
 * ```
 */
export function removeFds(name: string): boolean {
  return notify({ FDSTOREREMOVE: 1, FDNAME: fdName(name) });
}
