// SPDX-License-Identifier: MIT
/**
 * The `sd-activate` command's main mode: one child at a time, holding the
 * sockets across its restarts, like a `.socket` unit with its `.service`.
 *
 * - the child gets the sockets (and any fds it stored) at fds 3, 4, ... with
 *   LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES, and NOTIFY_SOCKET pointing at a
 *   private receiver; only its own messages count (NotifyAccess=main);
 * - a restart (SIGHUP, `--watch`, `--restart`) is SIGTERM to the child's
 *   process group, a wait for it to exit (SIGKILL after `--stop-timeout`),
 *   then the next child. Connections arriving in between wait in the
 *   kernel's backlog;
 * - SIGINT / SIGTERM / SIGQUIT are passed to the child, and the command ends
 *   with the child's status.
 *
 * @internal
 */
import { performance } from 'node:perf_hooks';
import { native } from '../binding';
import { parseState } from '../notify-state';
import { FdStore } from './fdstore';
import { Holder, PASS_SIGNALS } from './holder';
import { NotifySocket } from './notify-socket';
import { childEnv, describeExit, exitStatus, reapGroup, spawnActivated, withPreload } from './process';
import type { BoundSocket, CliLog, CliOptions } from './types';
import { watchPaths, type Watch } from './watch';

/** A child run. */
interface Run {
  pid: number;
  startedAt: number;
  ready: boolean;
  stopping: boolean;
  exited: boolean;
  exit: Promise<number>;
}

/** A run that ends within this many ms of starting counts towards the crash-loop guard. */
const QUICK_EXIT_MS = 5000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const WATCH_DEBOUNCE_MS = 200;

/** Runs and restarts the command over the held sockets. @internal */
export class Supervisor {
  private readonly holder: Holder<Run>;
  /** The live runs (the holder's children). */
  private readonly runs: Map<number, Run>;
  private current: Run | undefined;
  /** Runs that exited lately: their last messages may be read after their exit. */
  private readonly exitedRuns = new Map<number, Run>();
  private notifySocket: NotifySocket | undefined;
  private notifyPath = '';
  private readonly store: FdStore;
  private watch: Watch | undefined;
  private restarting = false;
  private backoff: NodeJS.Timeout | undefined;
  private quickExits = 0;
  private readonly ignoredPids = new Set<number>();

  /**
   * @param sockets - the bound sockets, in fd order
   * @param options - the parsed command line
   * @param log - event and error lines
   */
  constructor(
    private readonly sockets: BoundSocket[],
    private readonly options: CliOptions,
    private readonly log: CliLog,
  ) {
    this.holder = new Holder(log, options.stopTimeoutMs);
    this.runs = this.holder.children;
    this.store = new FdStore(options.fdstore, log);
  }

  /**
   * Start the receiver, the watchers, the signal handlers and the first
   * child; resolve with the command's exit status.
   *
   * @throws {@link CliError} when the notify receiver cannot be created
   */
  run(): Promise<number> {
    this.notifySocket = new NotifySocket((text, pid, fds) => this.onNotify(text, pid, fds));
    this.notifyPath = this.notifySocket.path;
    if (this.options.watch.length > 0) {
      try {
        this.watch = watchPaths(this.options.watch, WATCH_DEBOUNCE_MS, (first, more) => {
          void this.restart(`${first} changed${more > 0 ? ` (and ${more} more)` : ''}`);
        });
      } catch (err) {
        this.cleanup();
        throw err;
      }
    }
    this.holder.listen({
      hangup: () => { void this.restart('SIGHUP'); },
      shutdown: (sig) => { void this.shutdown(sig); },
      pass: PASS_SIGNALS,
    });
    this.start();
    return this.holder.done;
  }

  /** Start a child with the sockets and stored fds. */
  private start(): void {
    const fds = [...this.sockets.map((s) => s.fd), ...this.store.fds];
    const names = [...this.sockets.map((s) => s.name), ...this.store.names];
    const activation = childEnv({
      LISTEN_FDS: String(fds.length),
      LISTEN_FDNAMES: names.join(':'),
      NOTIFY_SOCKET: this.notifyPath,
    });
    const env = this.options.preloadFile !== undefined ? withPreload(activation) : activation;
    const command = this.options.command;
    const proc = this.holder.launch(command[0] as string, () => spawnActivated(command, env, fds), () => this.finish(1));
    if (!proc) return;
    const pid = proc.pid;
    let resolveExit: (status: number) => void = () => {};
    const run: Run = {
      pid, startedAt: performance.now(), ready: false, stopping: false, exited: false,
      exit: new Promise((r) => { resolveExit = r; }),
    };
    this.runs.set(pid, run);
    this.current = run;
    proc.once('exit', async (code, signal) => {
      // Read what it sent before it exited (STOPPING=1, STATUS=) first.
      await this.notifySocket?.drain();
      run.exited = true;
      this.runs.delete(pid);
      this.exitedRuns.set(pid, run);
      if (this.exitedRuns.size > 16) this.exitedRuns.delete(this.exitedRuns.keys().next().value as number);
      const status = exitStatus(code, signal);
      const how = describeExit(code, signal);
      this.log.info(`pid ${pid} ${how}`);
      resolveExit(status);
      void this.onExit(run, status, how);
    });
    this.log.info(`started pid ${pid}: ${command.join(' ')}`);
  }

  /** The child exited: by itself (restart, wait, or end), or because we stopped it. */
  private async onExit(run: Run, status: number, how: string): Promise<void> {
    if (run.stopping || this.holder.shuttingDown || run !== this.current) return;
    this.current = undefined;
    const ran = performance.now() - run.startedAt;
    this.quickExits = ran < QUICK_EXIT_MS ? this.quickExits + 1 : 0;
    // Its own children go with it (KillMode=control-group).
    await reapGroup(run.pid, this.options.stopTimeoutMs, true);
    if (this.holder.shuttingDown || this.restarting || this.current !== undefined) return;
    const { restart, restartLimit } = this.options;
    const wanted = restart === 'always' || (restart === 'on-failure' && status !== 0);
    const waiting = this.options.watch.length > 0;
    if (wanted) {
      if (restartLimit > 0 && this.quickExits >= restartLimit) {
        this.log.error(`giving up: it exited ${this.quickExits} times in a row within ${QUICK_EXIT_MS / 1000} s of starting (--restart-limit ${restartLimit})`);
        if (waiting) this.log.info('waiting for a change (or SIGHUP) to start it again');
        else this.finish(status);
        return;
      }
      const delay = this.quickExits === 0 ? FIRST_BACKOFF_MS
        : Math.min(FIRST_BACKOFF_MS * 2 ** (this.quickExits - 1), MAX_BACKOFF_MS);
      this.log.info(`restarting in ${delay} ms because pid ${run.pid} ${how}`);
      this.backoff = setTimeout(() => {
        this.backoff = undefined;
        if (!this.holder.shuttingDown && this.current === undefined) this.start();
      }, delay);
    } else if (waiting) {
      this.log.info('waiting for a change (or SIGHUP) to start it again');
    } else {
      this.finish(status);
    }
  }

  /** Restart: stop the child (if any), then start the next one. */
  private async restart(reason: string): Promise<void> {
    if (this.holder.shuttingDown || this.restarting) return; // one under way covers this request
    this.restarting = true;
    if (this.backoff) {
      clearTimeout(this.backoff);
      this.backoff = undefined;
    }
    this.log.info(`restarting because ${reason}`);
    const old = this.current;
    if (old && !old.exited) await this.stop(old, 'SIGTERM');
    this.restarting = false;
    if (this.holder.shuttingDown) return;
    this.quickExits = 0;
    this.start();
  }

  /** Signal a run's group and wait for it to exit (SIGKILL after the stop timeout, announced). */
  private stop(run: Run, signal: NodeJS.Signals): Promise<number> {
    run.stopping = true;
    return this.holder.stop(run, signal, true);
  }

  /** The first SIGINT / SIGTERM / SIGQUIT: pass it on, wait, end with the child's status. */
  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    if (this.backoff) clearTimeout(this.backoff);
    this.watch?.close();
    this.watch = undefined;
    const live = [...this.runs.values()];
    if (live.length === 0) {
      this.log.info(`${signal}: no child running, exiting`);
      this.finish(exitStatus(null, signal));
      return;
    }
    const main = this.current ?? live[live.length - 1] as Run;
    const statuses = await this.holder.stopAll(live, signal, (r) => this.stop(r, signal));
    this.finish(statuses[live.indexOf(main)] ?? 0);
  }

  /** A notify datagram; only the children we started may speak (NotifyAccess=main). */
  private onNotify(text: string, pid: number, fds: number[]): void {
    const run = this.runs.get(pid) ?? this.exitedRuns.get(pid);
    if (!run) {
      for (const fd of fds) native.close(fd);
      if (!this.ignoredPids.has(pid)) {
        this.ignoredPids.add(pid);
        const main = this.current ? ` (pid ${this.current.pid})` : '';
        this.log.info(`ignoring notify messages from pid ${pid}: only the main process${main} may send them, as with NotifyAccess=main`);
      }
      return;
    }
    const fields = parseState(text);
    const events: string[] = [];
    if (fields.get('READY') === '1' && !run.ready && !run.exited) {
      run.ready = true;
      events.push(`is ready after ${Math.round(performance.now() - run.startedAt)} ms`);
    }
    if (fields.get('RELOADING') === '1') events.push('is reloading');
    if (fields.get('STOPPING') === '1') events.push('is stopping');
    const statusText = fields.has('STATUS') ? `status: ${fields.get('STATUS')}` : '';
    if (events.length > 0) this.log.info(`pid ${pid} ${events.join(', ')}${statusText ? `; ${statusText}` : ''}`);
    else if (statusText) this.log.info(statusText);
    if (fields.has('ERRNO')) this.log.info(`pid ${pid} reports errno ${fields.get('ERRNO')}`);
    let kept = new Set<number>();
    if (fields.get('FDSTOREREMOVE') === '1') this.store.remove(fields.get('FDNAME'));
    else if (fields.get('FDSTORE') === '1' && fds.length > 0) kept = this.store.add(pid, fields.get('FDNAME'), fds);
    // Everything else (including BARRIER=1's pipe) is closed, which is
    // also how a barrier is answered.
    for (const fd of fds) if (!kept.has(fd)) native.close(fd);
  }

  private cleanup(): void {
    this.watch?.close();
    this.watch = undefined;
    if (this.backoff) clearTimeout(this.backoff);
    this.notifySocket?.close();
    this.store.close();
  }

  private finish(status: number): void {
    if (this.holder.finished) return;
    this.cleanup();
    this.holder.finish(status);
  }
}
