// SPDX-License-Identifier: MIT
/**
 * The types the `sd-activate` command's files share: its two failures
 * ({@link UsageError}, {@link CliError}), where its lines go ({@link CliLog}),
 * what it was asked to do ({@link CliOptions}, {@link ListenSpec}) and the
 * sockets it holds ({@link BoundSocket}). Nothing here has side effects, so every
 * file of the command may import it.
 *
 * @internal
 */

/** A bad command line: printed with a pointer to `--help`, exit status 2. @internal */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the command reports on one line and exits with `status`. @internal */
export class CliError extends Error {
  /** The command's exit status. */
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'CliError';
    this.status = status;
  }
}

/** Where the command's event lines go. @internal */
export interface CliLog {
  /** An event line (suppressed by `--quiet`). */
  info(line: string): void;
  /** An error line (always printed). */
  error(line: string): void;
}

/** The kinds of socket the command can bind (the addon's `openSocket` kinds). @internal */
export type ListenKind = 'tcp' | 'udp' | 'unix' | 'unix-dgram' | 'seqpacket';

/** One parsed `-l` / `--listen` spec. @internal */
export interface ListenSpec {
  /** What the user wrote (without a `NAME=` prefix), for messages. */
  text: string;
  /** Socket kind. */
  kind: ListenKind;
  /**
   * Numeric address for inet kinds (`''` for "all addresses": `::` dual-stack
   * where IPv6 exists, else `0.0.0.0`, as systemd binds a bare port), or the
   * unix path (`@name` for the abstract namespace).
   */
  address: string;
  /** Port for inet kinds (0 = a free port), 0 for unix kinds. */
  port: number;
  /** A `NAME=` prefix given in the spec itself. */
  name?: string;
}

/** When `--restart` restarts the command after it exits by itself. @internal */
export type RestartPolicy = 'no' | 'always' | 'on-failure';

/** Everything the command was asked to do. @internal */
export interface CliOptions {
  /** The sockets, in fd order (3, 4, ...). */
  listen: ListenSpec[];
  /** One LISTEN_FDNAMES name per socket. */
  names: string[];
  /** Paths whose changes restart the command. */
  watch: string[];
  /** Restart policy when the command exits by itself. */
  restart: RestartPolicy;
  /** Give up after this many quick exits in a row (0 = never). */
  restartLimit: number;
  /** Milliseconds between SIGTERM and SIGKILL when stopping the command. */
  stopTimeoutMs: number;
  /** listen(2) backlog. */
  backlog: number;
  /** inetd style: one command per accepted connection. */
  accept: boolean;
  /** With `accept`: the connection on stdin/stdout, no LISTEN_* variables. */
  inetd: boolean;
  /** With `accept`: at most this many commands at once. */
  maxConnections: number;
  /** Keep up to this many fds the command stores with FDSTORE=1 (0 = none). */
  fdstore: number;
  /** Restarts start the next run first and stop the old one once the new one sent READY=1. */
  overlap: boolean;
  /** With `overlap`: how long a new run may take to send READY=1, in ms. */
  readyTimeoutMs: number;
  /** Start the command only when the first connection (or datagram) arrives, and again after a clean exit. */
  lazy: boolean;
  /** Print only errors. */
  quiet: boolean;
  /** Add the zero-code preload to a node command's NODE_OPTIONS. */
  preload: boolean;
  /** Set when the command runs node and the preload is added (the register file). */
  preloadFile?: string;
  /** Where to write the command's own pid while it runs. */
  pidFile?: string;
  /** The command and its arguments. */
  command: string[];
}

/** A socket the command bound and holds. @internal */
export interface BoundSocket {
  /** The holder's fd (CLOEXEC); -1 once closed by a Node server that took it over. */
  fd: number;
  /** The spec it came from. */
  spec: ListenSpec;
  /** Its LISTEN_FDNAMES name. */
  name: string;
  /** What it is, e.g. `tcp 127.0.0.1:8080`, `tcp [::]:8080 dual-stack`, `unix /tmp/a.sock`. */
  label: string;
  /** Local port for inet kinds (the real one when port 0 was asked), else 0. */
  port: number;
  /** A socket file to remove at exit when it is still this inode. */
  file?: { path: string; dev: number; ino: number };
}
