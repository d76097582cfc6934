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
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { Holder, type Child } from './holder';
import { childEnv, describeExit, exitStatus, spawnActivated } from './process';
import type { BoundSocket, CliLog, CliOptions } from './types';

/** Accepts connections and runs one child per connection. @internal */
export class Acceptor {
  private readonly holder: Holder<Child>;
  private readonly servers: net.Server[] = [];

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
  ) {
    this.holder = new Holder(log, options.stopTimeoutMs);
  }

  /** Accept until SIGINT / SIGTERM / SIGQUIT; then stop the children and resolve 0. */
  run(): Promise<number> {
    for (const s of this.sockets) {
      const server = net.createServer({ pauseOnConnect: true }, (conn) => this.onConnection(s, conn));
      server.on('error', (err) => this.log.error(`accepting on ${s.label}: ${err.message}`));
      server.listen({ fd: s.fd }, this.options.backlog); // Node takes a backlog for { fd } only as an argument
      this.servers.push(server);
    }
    this.holder.listen({
      hangup: () => this.log.info('SIGHUP: nothing to restart with --accept (each connection runs its own process)'),
      shutdown: (sig) => { void this.shutdown(sig); },
      pass: [],
    });
    return this.holder.done;
  }

  private onConnection(s: BoundSocket, conn: net.Socket): void {
    if (this.holder.shuttingDown) {
      conn.destroy();
      return;
    }
    const max = this.options.maxConnections;
    if (this.holder.children.size >= max) {
      this.log.info(`refusing a connection on ${s.label}: ${max} connections are being served (--max-connections)`);
      conn.destroy();
      return;
    }
    const remote: Record<string, string> = {};
    if (conn.remoteAddress) remote.REMOTE_ADDR = conn.remoteAddress;
    if (conn.remotePort !== undefined) remote.REMOTE_PORT = String(conn.remotePort);
    const command = this.options.command;
    const proc = this.holder.launch(command[0] as string, () => {
      if (this.options.inetd) {
        const [file, ...args] = command as [string, ...string[]];
        return spawn(file, args, { env: childEnv(remote), stdio: [conn, conn, 'inherit'], detached: true });
      }
      const env = childEnv({ ...remote, LISTEN_FDS: '1', LISTEN_FDNAMES: 'connection' });
      return spawnActivated(command, env, [conn], ['ignore', 'inherit', 'inherit']);
    }, () => {});
    conn.destroy(); // the child has its own copy now (or none started); the holder keeps none
    if (!proc) return;
    const pid = proc.pid;
    const from = conn.remoteAddress ? ` from ${conn.remoteAddress}:${conn.remotePort}` : '';
    this.log.info(`connection${from} on ${s.label}: started pid ${pid}`);
    const exit = new Promise<number>((resolve) => {
      proc.once('exit', (code, signal) => {
        this.holder.children.delete(pid);
        this.log.info(`pid ${pid} ${describeExit(code, signal)}`);
        resolve(exitStatus(code, signal));
      });
    });
    this.holder.children.set(pid, { pid, exit });
  }

  /** The first SIGINT / SIGTERM / SIGQUIT: stop accepting, pass it on, wait, resolve 0. */
  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    await Promise.all(this.servers.map((server) => new Promise<void>((r) => server.close(() => r()))));
    for (const s of this.sockets) s.fd = -1; // closed with their servers
    const live = [...this.holder.children.values()];
    await this.holder.stopAll(live, signal, (c) => this.holder.stop(c, signal, false));
    this.holder.finish(0);
  }
}
