// SPDX-License-Identifier: MIT
/**
 * `sd-activate --accept`: inetd style, like a `.socket` unit with
 * `Accept=yes`. The command accepts on its stream sockets and starts one
 * child per connection with the connection at fd 3 (`LISTEN_FDS=1`,
 * `LISTEN_FDNAMES=connection`, `REMOTE_ADDR` / `REMOTE_PORT` for TCP), or on
 * stdin and stdout with `--inetd`. The holder never reads from a connection
 * (`pauseOnConnect`).
 *
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import {
  childEnv, describeExit, reapGroup, signalGroup, spawnActivated, STOP_SIGNALS,
} from './process';
import type { BoundSocket, CliLog, CliOptions } from './types';

/** Accepts connections and runs one child per connection. @internal */
export class Acceptor {
  private readonly servers: net.Server[] = [];
  private readonly children = new Map<number, { proc: ChildProcess; exit: Promise<void> }>();
  private readonly handlers: [NodeJS.Signals, () => void][] = [];
  private stopping = false;
  private resolveDone: (status: number) => void = () => {};
  private readonly onProcessExit = (): void => {
    for (const pid of this.children.keys()) signalGroup(pid, 'SIGTERM');
  };

  /**
   * @param sockets - the bound stream sockets (ownership of the fds passes to
   *   Node servers; their `fd` is set to -1 once those are closed)
   * @param options - the parsed command line
   * @param log - event and error lines
   */
  constructor(
    private readonly sockets: BoundSocket[],
    private readonly options: CliOptions,
    private readonly log: CliLog,
  ) {}

  /** Accept until SIGINT / SIGTERM / SIGQUIT; then stop the children and resolve 0. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => { this.resolveDone = resolve; });
    for (const s of this.sockets) {
      const server = net.createServer({ pauseOnConnect: true }, (conn) => this.onConnection(s, conn));
      server.on('error', (err) => this.log.error(`accepting on ${s.label}: ${err.message}`));
      server.listen({ fd: s.fd }, this.options.backlog); // Node takes a backlog for { fd } only as an argument
      this.servers.push(server);
    }
    const on = (sig: NodeJS.Signals, fn: () => void): void => {
      process.on(sig, fn);
      this.handlers.push([sig, fn]);
    };
    for (const sig of STOP_SIGNALS) on(sig, () => { void this.shutdown(sig); });
    on('SIGHUP', () => this.log.info('SIGHUP: nothing to restart with --accept (each connection runs its own process)'));
    process.on('exit', this.onProcessExit);
    return done;
  }

  private onConnection(s: BoundSocket, conn: net.Socket): void {
    if (this.stopping) {
      conn.destroy();
      return;
    }
    const max = this.options.maxConnections;
    if (this.children.size >= max) {
      this.log.info(`refusing a connection on ${s.label}: ${max} connections are being served (--max-connections)`);
      conn.destroy();
      return;
    }
    const remote: Record<string, string> = {};
    if (conn.remoteAddress) remote.REMOTE_ADDR = conn.remoteAddress;
    if (conn.remotePort !== undefined) remote.REMOTE_PORT = String(conn.remotePort);
    let proc: ChildProcess;
    try {
      if (this.options.inetd) {
        const [file, ...args] = this.options.command as [string, ...string[]];
        proc = spawn(file, args, { env: childEnv(remote), stdio: [conn, conn, 'inherit'], detached: true });
      } else {
        const env = childEnv({ ...remote, LISTEN_FDS: '1', LISTEN_FDNAMES: 'connection' });
        proc = spawnActivated(this.options.command, env, [conn], ['ignore', 'inherit', 'inherit']);
      }
    } catch (err) {
      this.log.error(`cannot start ${this.options.command[0]}: ${(err as Error).message}`);
      conn.destroy();
      return;
    }
    conn.destroy(); // the child has its own copy now; the holder keeps none
    const pid = proc.pid;
    if (pid === undefined) {
      proc.once('error', (err) => this.log.error(`cannot start ${this.options.command[0]}: ${err.message}`));
      return;
    }
    const from = conn.remoteAddress ? ` from ${conn.remoteAddress}:${conn.remotePort}` : '';
    this.log.info(`connection${from} on ${s.label}: started pid ${pid}`);
    const exit = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        this.children.delete(pid);
        this.log.info(`pid ${pid} ${describeExit(code, signal)}`);
        resolve();
      });
    });
    this.children.set(pid, { proc, exit });
  }

  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    if (this.stopping) {
      for (const pid of this.children.keys()) signalGroup(pid, signal);
      return;
    }
    this.stopping = true;
    await Promise.all(this.servers.map((server) => new Promise<void>((r) => server.close(() => r()))));
    for (const s of this.sockets) s.fd = -1; // closed with their servers
    const live = [...this.children.entries()];
    if (live.length > 0) this.log.info(`passing ${signal} to pid ${live.map(([pid]) => pid).join(', ')}`);
    const timeout = this.options.stopTimeoutMs;
    await Promise.all(live.map(async ([pid, c]) => {
      signalGroup(pid, signal);
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeout);
      await c.exit;
      clearTimeout(timer);
      await reapGroup(pid, timeout, false);
    }));
    for (const [sig, fn] of this.handlers.splice(0)) process.removeListener(sig, fn);
    process.removeListener('exit', this.onProcessExit);
    this.resolveDone(0);
  }
}
