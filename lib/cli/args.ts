// SPDX-License-Identifier: MIT
/**
 * The `sd-activate` command's arguments: `-l` listen specs (systemd's
 * `ListenStream=` / `ListenDatagram=` address forms), names, restart and
 * watch options, and the command to run. Pure parsing, no side effects, so
 * every rule is testable without starting anything.
 *
 * @internal
 */
import * as net from 'node:net';
import { isValidFdName } from '../validate';
import { UsageError, type CliOptions, type ListenKind, type ListenSpec, type RestartPolicy } from './types';

/** What the arguments ask for. @internal */
export type ParsedArgs =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'run'; options: CliOptions };

/** The name an fd gets when none is given: what `sd_listen_fds_with_names(3)` reports for an unnamed fd. */
export const DEFAULT_FDNAME = 'unknown';

/** `--ready-timeout`'s default, in seconds. */
export const DEFAULT_READY_TIMEOUT_S = 30;

/** systemd's default Backlog= (SOMAXCONN); the kernel caps it at net.core.somaxconn. */
export const DEFAULT_BACKLOG = 4096;

function parsePort(text: string, spec: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`bad port ${JSON.stringify(text)} in listen spec ${JSON.stringify(spec)} (0..65535)`);
  const port = Number(text);
  if (port > 65535) throw new UsageError(`bad port ${port} in listen spec ${JSON.stringify(spec)} (0..65535)`);
  return port;
}

function parseInet(kind: 'tcp' | 'udp', body: string, spec: string): ListenSpec {
  if (/^\d+$/.test(body)) return { text: spec, kind, address: '', port: parsePort(body, spec) };
  let host: string;
  let port: string;
  if (body.startsWith('[')) {
    const end = body.indexOf(']');
    if (end < 0 || body[end + 1] !== ':') {
      throw new UsageError(`bad listen spec ${JSON.stringify(spec)}: write IPv6 addresses as [ADDRESS]:PORT, e.g. [::1]:8080`);
    }
    host = body.slice(1, end);
    port = body.slice(end + 2);
    const bare = host.split('%')[0] ?? '';
    if (!net.isIPv6(bare) || host.endsWith('%')) {
      throw new UsageError(`bad IPv6 address ${JSON.stringify(host)} in listen spec ${JSON.stringify(spec)}`);
    }
  } else {
    const colon = body.lastIndexOf(':');
    if (colon < 0) {
      throw new UsageError(`bad listen spec ${JSON.stringify(spec)}: expected PORT, ADDRESS:PORT, [IPV6]:PORT, unix:PATH or udp:...`);
    }
    host = body.slice(0, colon);
    port = body.slice(colon + 1);
    if (host.includes(':')) {
      throw new UsageError(`bad listen spec ${JSON.stringify(spec)}: write IPv6 addresses in brackets, e.g. [::1]:8080`);
    }
    if (!net.isIPv4(host)) {
      const hint = host === 'localhost' ? ' (use 127.0.0.1 or [::1])' : ' (names are not resolved, as in systemd; use a numeric address)';
      throw new UsageError(`bad address ${JSON.stringify(host)} in listen spec ${JSON.stringify(spec)}${hint}`);
    }
  }
  return { text: spec, kind, address: host, port: parsePort(port, spec) };
}

function parseUnix(kind: 'unix' | 'unix-dgram' | 'seqpacket', body: string, spec: string): ListenSpec {
  if (body === '' || body === '@') throw new UsageError(`bad listen spec ${JSON.stringify(spec)}: empty socket path`);
  if (body.includes('\0')) throw new UsageError(`bad listen spec ${JSON.stringify(spec)}: NUL in socket path`);
  const bytes = Buffer.byteLength(body);
  if (bytes > 107) throw new UsageError(`socket path too long in listen spec ${JSON.stringify(spec)} (${bytes} bytes, at most 107)`);
  return { text: spec, kind, address: body, port: 0 };
}

/**
 * Parse one listen spec: `8080`, `127.0.0.1:8080`, `[::1]:8080`,
 * `tcp:...`, `udp:5353`, `udp:[::1]:53`, `unix:/path`, `/path`, `@abstract`,
 * `unix-dgram:/path`, `seqpacket:/path`, each optionally prefixed `NAME=`.
 *
 * @throws {@link UsageError} for anything else, saying what is expected
 */
export function parseListenSpec(input: string): ListenSpec {
  let name: string | undefined;
  let spec = input;
  const eq = input.indexOf('=');
  if (eq > 0 && !/[:/@[]/.test(input.slice(0, eq))) {
    name = input.slice(0, eq);
    spec = input.slice(eq + 1);
    if (!isValidFdName(name)) throw new UsageError(`bad name ${JSON.stringify(name)} in listen spec ${JSON.stringify(input)}`);
  }
  if (spec === '') throw new UsageError('empty listen spec');
  let parsed: ListenSpec;
  const m = /^(tcp|udp|unix|unix-dgram|seqpacket):(.*)$/.exec(spec);
  if (m) {
    const prefix = m[1] as ListenKind;
    const body = m[2] ?? '';
    parsed = prefix === 'tcp' || prefix === 'udp' ? parseInet(prefix, body, spec) : parseUnix(prefix, body, spec);
  } else if (spec.startsWith('/') || spec.startsWith('@')) {
    parsed = parseUnix('unix', spec, spec);
  } else {
    parsed = parseInet('tcp', spec, spec);
  }
  if (name !== undefined) parsed.name = name;
  return parsed;
}

function parseNumber(option: string, value: string, min: number, max: number, float = false): number {
  const ok = float ? /^\d+(\.\d+)?$/.test(value) : /^\d+$/.test(value);
  const n = Number(value);
  if (!ok || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${option} needs ${float ? 'a number' : 'an integer'} from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/**
 * Parse the command line (without `node` and the script).
 *
 * @throws {@link UsageError} for a bad option, a bad spec or a missing command
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const listen: ListenSpec[] = [];
  const fdnames: string[] = [];
  const watch: string[] = [];
  let restart: RestartPolicy = 'no';
  let restartLimit = 5;
  let stopTimeoutMs = 10_000;
  let backlog = DEFAULT_BACKLOG;
  let accept = false;
  let inetd = false;
  let maxConnections = 64;
  let fdstore = 0;
  let quiet = false;
  let overlap = false;
  let readyTimeoutMs = DEFAULT_READY_TIMEOUT_S * 1000;
  let lazy = false;
  let preload = true;
  let pidFile: string | undefined;
  let command: string[] = [];

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    i++;
    if (arg === '--') {
      command = argv.slice(i);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      command = argv.slice(i - 1);
      break;
    }
    let opt = arg;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) {
        opt = arg.slice(0, eq);
        inline = arg.slice(eq + 1);
      }
    } else if (arg.length > 2) {
      // -l8080, -w src
      opt = arg.slice(0, 2);
      inline = arg.slice(2);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      if (i >= argv.length) throw new UsageError(`${opt} needs a value`);
      const v = argv[i] as string;
      i++;
      return v;
    };
    const flag = (): void => {
      if (inline !== undefined) throw new UsageError(`${opt} takes no value`);
    };
    switch (opt) {
      case '-h':
      case '--help':
        return { action: 'help' };
      case '-V':
      case '--version':
        return { action: 'version' };
      case '-l':
      case '--listen':
        listen.push(parseListenSpec(value()));
        break;
      case '--fdname': {
        const v = value();
        for (const n of v.split(':')) {
          if (!isValidFdName(n)) throw new UsageError(`bad --fdname ${JSON.stringify(v)}: names are 1..255 printable ASCII characters, separated by ':'`);
          fdnames.push(n);
        }
        break;
      }
      case '-w':
      case '--watch': {
        const v = value();
        if (v === '') throw new UsageError('--watch needs a path');
        watch.push(v);
        break;
      }
      case '--restart':
        if (inline === undefined) restart = 'always';
        else if (inline === 'always' || inline === 'on-failure' || inline === 'no') restart = inline;
        else throw new UsageError(`--restart takes always, on-failure or no (got ${JSON.stringify(inline)})`);
        break;
      case '--restart-limit':
        restartLimit = parseNumber(opt, value(), 0, 1_000_000);
        break;
      case '--stop-timeout':
        stopTimeoutMs = Math.round(parseNumber(opt, value(), 0, 86_400, true) * 1000);
        break;
      case '--backlog':
        backlog = parseNumber(opt, value(), 1, 2_147_483_647);
        break;
      case '--accept':
        flag();
        accept = true;
        break;
      case '--inetd':
        flag();
        inetd = true;
        break;
      case '--max-connections':
        maxConnections = parseNumber(opt, value(), 1, 1_000_000);
        break;
      case '--fdstore':
        fdstore = parseNumber(opt, value(), 0, 4096);
        break;
      case '--pid-file': {
        const v = value();
        if (v === '') throw new UsageError('--pid-file needs a path');
        pidFile = v;
        break;
      }
      case '--overlap':
        flag();
        overlap = true;
        break;
      case '--ready-timeout':
        readyTimeoutMs = Math.round(parseNumber(opt, value(), 0.1, 86_400, true) * 1000);
        break;
      case '--lazy':
        flag();
        lazy = true;
        break;
      case '--no-preload':
        flag();
        preload = false;
        break;
      case '-q':
      case '--quiet':
        flag();
        quiet = true;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(opt)}`);
    }
  }

  if (listen.length === 0) throw new UsageError('no sockets: give at least one -l SPEC (e.g. -l 8080)');
  if (command.length === 0) throw new UsageError('no command: give the command to run after the options (e.g. -- node app.js)');
  if (command[0] === '') throw new UsageError('empty command name');

  const inlineNames = listen.some((l) => l.name !== undefined);
  if (inlineNames && fdnames.length > 0) {
    throw new UsageError('name sockets either with NAME=SPEC or with --fdname, not both');
  }
  if (fdnames.length > listen.length) {
    throw new UsageError(`${fdnames.length} names given with --fdname for ${listen.length} socket${listen.length === 1 ? '' : 's'}`);
  }
  const names = listen.map((l, k) => l.name ?? fdnames[k] ?? DEFAULT_FDNAME);

  if (inetd && !accept) throw new UsageError('--inetd works with --accept only');
  if (accept) {
    const bad = listen.find((l) => l.kind !== 'tcp' && l.kind !== 'unix');
    if (bad) throw new UsageError(`--accept needs stream sockets (tcp or unix); ${JSON.stringify(bad.text)} is ${bad.kind}`);
    if (watch.length > 0 || restart !== 'no') throw new UsageError('--accept runs one command per connection; --watch and --restart do not apply');
    if (fdstore > 0) throw new UsageError('--fdstore does not apply with --accept');
    if (overlap || lazy) throw new UsageError(`--accept runs one command per connection; ${overlap ? '--overlap' : '--lazy'} does not apply`);
  }

  return {
    action: 'run',
    options: {
      listen, names, watch, restart, restartLimit, stopTimeoutMs, backlog, accept, inetd,
      maxConnections, fdstore, overlap, readyTimeoutMs, lazy, quiet, preload, command, ...(pidFile !== undefined ? { pidFile } : {}),
    },
  };
}

/** The `--help` text. @internal */
export function usage(): string {
  return `Usage: sd-activate [options] -l SPEC [-l SPEC ...] [--] COMMAND [ARG...]

Bind sockets, keep them open, and run COMMAND with them as systemd socket
activation does: at fds 3, 4, ... with LISTEN_FDS, LISTEN_PID (COMMAND's own
pid) and LISTEN_FDNAMES set, and NOTIFY_SOCKET for its READY=1 and STATUS=.
Restarts keep the sockets open: connections made while COMMAND restarts wait
in the kernel's backlog and are served by the next run instead of refused.

Sockets (-l, --listen SPEC; repeatable; fds 3, 4, ... in this order):
  8080                  TCP, all addresses ([::] dual-stack, 0.0.0.0 without IPv6)
  127.0.0.1:8080        TCP on one IPv4 address
  [::1]:8080            TCP on one IPv6 address
  unix:/tmp/app.sock    unix stream socket (also just /tmp/app.sock, or @name
                        for the abstract namespace); a stale socket file is
                        replaced, and the file is removed on exit
  udp:5353              UDP (also udp:127.0.0.1:5353, udp:[::1]:5353)
  unix-dgram:PATH       unix datagram socket; seqpacket:PATH unix seqpacket
  NAME=SPEC             the same, with its LISTEN_FDNAMES name
  Port 0 takes a free port; the "listening on" line shows which.

Options:
  --fdname NAME[:NAME...]   names of the sockets, in order (repeatable); unnamed
                            sockets are "unknown", as sd_listen_fds_with_names(3)
                            reports an fd without a name
  -w, --watch PATH          restart COMMAND when PATH changes (repeatable;
                            directories recursively, node_modules/.git ignored)
  --restart[=always|on-failure]
                            restart COMMAND when it exits by itself, after
                            100 ms doubling up to 5 s while it keeps crashing
  --restart-limit N         give up after N exits in a row within 5 s of
                            starting (default 5; 0 = never)
  --stop-timeout SECONDS    time between SIGTERM and SIGKILL (default 10)
  --backlog N               listen(2) backlog (default ${DEFAULT_BACKLOG})
  --fdstore N               keep up to N fds COMMAND stores with FDSTORE=1 and
                            pass them to the next run (default 0: closed)
  --overlap                 restarts without a wait: start the next run on the
                            same sockets, and stop the old one (SIGTERM) only
                            once the new one sent READY=1 (the preload sends it
                            when a node app listens); if it exits or sends none
                            within --ready-timeout, it is stopped and the old
                            one keeps serving. Only for apps that can run twice
                            at once: not one that binds other ports or unix
                            paths itself, holds a lock or a pid file, or writes
                            one SQLite file
  --ready-timeout SECONDS   with --overlap: how long a new run may take to send
                            READY=1 (default ${DEFAULT_READY_TIMEOUT_S})
  --lazy                    start COMMAND only when the first connection (or
                            datagram) arrives, as a .socket unit does; after it
                            exits 0 (e.g. idle, see SD_ACTIVATE_IDLE_EXIT_MS),
                            wait for the next one
  --accept                  inetd style: accept here, run one COMMAND per
                            connection with it at fd 3 (LISTEN_FDS=1,
                            LISTEN_FDNAMES=connection, REMOTE_ADDR/REMOTE_PORT)
  --inetd                   with --accept: the connection on stdin and stdout
  --max-connections N       with --accept: at most N at once (default 64)
  --no-preload              do not add the zero-code preload: for a node
                            command (node ..., or a script whose #! line runs
                            node), sd-activate/register is put in the child's
                            NODE_OPTIONS by default, so an unmodified app's own
                            listen() adopts the sockets; other commands are
                            left alone (put --require with the absolute path
                            of sd-activate/dist/register.js in NODE_OPTIONS
                            yourself where node runs further down). npm, npx
                            and yarn are node scripts: they get it too, take
                            the sockets and never listen (run the server)
  --pid-file PATH           write sd-activate's own pid to PATH while it runs
                            (the pid to send SIGHUP to; under npx, $! is npm's)
  -q, --quiet               print errors only
  -h, --help                this text
  -V, --version             the version

Signals: SIGHUP restarts COMMAND (with --overlap, one arriving during a
restart is queued and runs after it). SIGINT, SIGTERM and SIGQUIT are passed to
COMMAND (its process group) and sd-activate exits with its status (128+N when
it was killed by signal N). SIGUSR1 and SIGUSR2 are passed on.

Exit status: COMMAND's; 1 when a socket cannot be bound (e.g. address in use);
2 for a bad command line; 127 when COMMAND is not found, 126 when it cannot be run.

Examples:
  sd-activate -l 8080 -- node server.js
  sd-activate -l 127.0.0.1:8080 --watch src -- node src/server.js
  sd-activate -l web=8080 -l admin=unix:/tmp/admin.sock --restart -- node app.js
  sd-activate --pid-file /tmp/app.pid -l 8080 -- node app.js &
  kill -HUP "$(cat /tmp/app.pid)"         # restart the app, no connection refused
  sd-activate -l 8080 --overlap --watch src -- node src/server.js   # no wait either
  sd-activate -l 8080 --lazy -- node app.js   # started by the first connection
  sd-activate -l 127.0.0.1:7000 --accept --inetd -- cat   # an echo service
`;
}
