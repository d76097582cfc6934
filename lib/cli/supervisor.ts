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
 * - with `--overlap`, a restart starts the next child first, on the same
 *   sockets, and stops the old one only once the new one sent READY=1 (the
 *   old one keeps serving when the new one exits first or sends nothing
 *   within `--ready-timeout`). The newest ready child is the main process:
 *   a replaced child's FDSTORE=1 / FDSTOREREMOVE=1 are ignored, and no
 *   child's FDSTOREREMOVE=1 removes what a later child stored. A restart
 *   asked for meanwhile is queued;
 * - with `--lazy`, the first child starts only when a connection (or a
 *   datagram) waits on a socket, and after a child exits 0 (an idle exit)
 *   the next connection starts another, as a `.socket` unit does;
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
import { priorityOf, setNice, STARTUP_NICE } from '../nice';
import { NotifySocket } from './notify-socket';
import { childEnv, describeExit, exitStatus, reapGroup, spawnActivated, withPreload } from './process';
import type { BoundSocket, CliLog, CliOptions } from './types';
import { watchPaths, type Watch } from './watch';

/** A child run. */
interface Run {
  pid: number;
  /** Runs are numbered 1, 2, ... in start order. */
  seq: number;
  startedAt: number;
  ready: boolean;
  /** Resolves when it sends READY=1. */
  readyNow: Promise<void>;
  markReady: () => void;
  stopping: boolean;
  exited: boolean;
  exit: Promise<number>;
}

/** How a new run of an overlapped restart ended its start. */
type StartOutcome = 'ready' | 'exited' | 'timeout';

/** A run that ends within this many ms of starting counts towards the crash-loop guard. */
const QUICK_EXIT_MS = 5000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const WATCH_DEBOUNCE_MS = 200;
/** The nice value of an overlapped restart's new run until it is ready (as root only). */
const OVERLAP_NICE = 19;

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
  /** With `--overlap`: the reason of a restart asked for during one, run after it. */
  private queued: string | undefined;
  private seq = 0;
  private unfitReported = false;
  /** A main run's exit seen during a restart, handled once the restart is done. */
  private lostExit: { run: Run; status: number; how: string } | undefined;
  private backoff: NodeJS.Timeout | undefined;
  private quickExits = 0;
  private readonly ignoredPids = new Set<number>();
  /** With `--lazy`: the wait for the first connection while no child runs. */
  private traffic: { close(): void } | undefined;

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
    if (this.options.lazy) this.startOnTraffic();
    else this.start();
    return this.holder.done;
  }

  /** `--lazy`: start a child once a connection (or datagram) waits on one of the sockets; nothing is accepted here. */
  private startOnTraffic(): void {
    if (this.traffic || this.holder.shuttingDown) return;
    this.log.info(`waiting for a connection on ${this.sockets.map((s) => s.label).join(', ')} to start ${this.options.command[0]} (--lazy)`);
    try {
      this.traffic = new (native().ReadableWatch)(this.sockets.map((s) => s.fd), (fd) => this.onTraffic(fd));
    } catch (err) {
      this.log.error(`cannot wait for a connection: ${(err as Error).message}`);
      this.finish(1);
    }
  }

  /** `--lazy`: a connection (or datagram) waits on `fd`. */
  private onTraffic(fd: number): void {
    this.traffic?.close();
    this.traffic = undefined;
    if (this.holder.shuttingDown || this.current !== undefined) return;
    const socket = this.sockets.find((s) => s.fd === fd);
    this.log.info(`${socket ? `a connection on ${socket.label}` : `fd ${fd} is readable`}: starting ${this.options.command[0]}`);
    this.start();
  }

  /** Start a child with the sockets and stored fds, as the main one. */
  private start(): void {
    const run = this.spawn(() => this.finish(1));
    if (!run) return;
    this.current = run;
    if (this.options.overlap) this.checkFitForOverlap(run);
  }

  /**
   * Start a child with the sockets and stored fds.
   *
   * @param failed - called when it cannot be started ("cannot start ..." is printed)
   */
  private spawn(failed: () => void): Run | undefined {
    const fds = [...this.sockets.map((s) => s.fd), ...this.store.fds];
    const names = [...this.sockets.map((s) => s.name), ...this.store.names];
    const activation = childEnv({
      LISTEN_FDS: String(fds.length),
      LISTEN_FDNAMES: names.join(':'),
      NOTIFY_SOCKET: this.notifyPath,
    });
    // An old run stopped while the new one serves should finish its requests:
    // with --overlap the preload's graceful stop is on unless set otherwise.
    if (this.options.overlap && this.options.preloadFile !== undefined && process.env.SD_ACTIVATE_GRACEFUL_STOP === undefined) {
      // A second before the SIGKILL, so the preload's last close comes first.
      activation.SD_ACTIVATE_GRACEFUL_STOP = String(Math.max(1, Math.floor(this.options.stopTimeoutMs / 1000) - 1));
    }
    // Whether an exit of the child is answered by starting another on the next connection (its idle exit checks).
    activation.SD_ACTIVATE_ON_DEMAND = this.options.lazy ? '1' : '0';
    // A new run takes over serving at once: its first requests should not pay for a cold http stack.
    if (this.options.overlap && process.env.SD_ACTIVATE_WARMUP === undefined) activation.SD_ACTIVATE_WARMUP = '1';
    const env = this.options.preloadFile !== undefined ? withPreload(activation) : activation;
    const command = this.options.command;
    const proc = this.holder.launch(command[0] as string, () => spawnActivated(command, env, fds), failed);
    if (!proc) return undefined;
    const pid = proc.pid;
    let resolveExit: (status: number) => void = () => {};
    let markReady: () => void = () => {};
    const run: Run = {
      pid, seq: ++this.seq, startedAt: performance.now(), ready: false, stopping: false, exited: false,
      readyNow: new Promise((r) => { markReady = r; }), markReady: () => markReady(),
      exit: new Promise((r) => { resolveExit = r; }),
    };
    this.runs.set(pid, run);
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
    return run;
  }

  /** How `run`'s start ended: READY=1, an exit, or `--ready-timeout` first. */
  private async startOutcome(run: Run): Promise<StartOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      run.readyNow.then(() => 'ready' as const),
      run.exit.then(() => 'exited' as const),
      new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), this.options.readyTimeoutMs).unref(); }),
    ]);
    clearTimeout(timer);
    return outcome;
  }

  /** With `--overlap`: say so at once when the main run sends no READY=1 in time, not at the first restart. */
  private checkFitForOverlap(run: Run): void {
    if (this.unfitReported) return;
    void this.startOutcome(run).then((outcome) => {
      if (outcome !== 'timeout' || this.unfitReported || this.holder.shuttingDown) return;
      this.unfitReported = true;
      this.log.error(`pid ${run.pid} sent no READY=1 within ${this.options.readyTimeoutMs / 1000} s (--ready-timeout): ` +
        '--overlap cannot tell when a new run is ready, so a restart would keep the old run and stop the new one. ' +
        'Fix: a node app gets READY=1 from the zero-code preload once it listens (do not pass --no-preload), or send it ' +
        'yourself (lifecycle() / ready() of sd-activate, sd_notify(3) READY=1); or restart without --overlap');
    });
  }

  /** The child exited: by itself (restart, wait, or end), or because we stopped it. */
  private async onExit(run: Run, status: number, how: string): Promise<void> {
    if (run.stopping || this.holder.shuttingDown || run !== this.current) return;
    this.current = undefined;
    const ran = performance.now() - run.startedAt;
    this.quickExits = ran < QUICK_EXIT_MS ? this.quickExits + 1 : 0;
    // Its own children go with it (KillMode=control-group).
    await reapGroup(run.pid, this.options.stopTimeoutMs, true);
    if (this.holder.shuttingDown || this.current !== undefined) return;
    if (this.restarting) {
      // The restart under way decides once it is done (an overlapped one may still be stopping the old run).
      this.lostExit = { run, status, how };
      return;
    }
    this.afterExit(run, status, how);
  }

  /** No run is left after `run` exited with `status`: restart it, wait for a connection or a change, or end. */
  private afterExit(run: Run, status: number, how: string): void {
    // An idle exit: a run that got ready (or ran a while) and exited 0. One that
    // exits 0 at once would be started again at once by the waiting connection.
    if (this.options.lazy && status === 0 && (run.ready || performance.now() - run.startedAt >= QUICK_EXIT_MS)) {
      this.startOnTraffic();
      return;
    }
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

  /**
   * Restart: stop the child (if any), then start the next one; with
   * `--overlap`, start the next one first ({@link Supervisor.overlapped}).
   * A request during a restart is covered by it, or with `--overlap` (whose
   * new run may have started before the change) queued to run after it.
   */
  private async restart(reason: string): Promise<void> {
    if (this.holder.shuttingDown) return;
    if (this.restarting) {
      if (this.options.overlap && this.queued === undefined) {
        this.queued = reason;
        this.log.info(`restart because ${reason} queued: a restart is under way`);
      }
      return;
    }
    this.restarting = true;
    if (this.backoff) {
      clearTimeout(this.backoff);
      this.backoff = undefined;
    }
    const old = this.current;
    if (this.options.lazy && (old === undefined || old.exited) && this.traffic) {
      this.restarting = false;
      this.log.info(`${reason}: nothing to restart, the next connection starts ${this.options.command[0]} (--lazy)`);
      return;
    }
    this.log.info(`restarting because ${reason}`);
    if (this.options.overlap && old && !old.exited) {
      await this.overlapped(old);
    } else {
      if (old && !old.exited) await this.stop(old, 'SIGTERM');
      if (!this.holder.shuttingDown) {
        this.quickExits = 0;
        this.start();
      }
    }
    this.restarting = false;
    const lost = this.lostExit;
    this.lostExit = undefined;
    if (lost && this.current === undefined && !this.holder.shuttingDown) {
      // The run that took over exited while the old one was being stopped.
      this.queued = undefined;
      this.afterExit(lost.run, lost.status, lost.how);
      return;
    }
    const next = this.queued;
    this.queued = undefined;
    if (next !== undefined) await this.restart(next);
  }

  /** The overlapped restart of `old`: the next run first; `old` is stopped once it is ready. */
  private async overlapped(old: Run): Promise<void> {
    const next = this.spawn(() => {});
    if (!next) {
      this.log.error(`restart failed; pid ${old.pid} keeps serving`);
      return;
    }
    // While it starts, the serving run keeps its core (as root: the priority can be
    // given back). 19 rather than 10: the p99 of the restart windows was 6 ms vs 9 ms here.
    const priority = STARTUP_NICE > 0 ? priorityOf(next.pid) : undefined;
    const niced = priority !== undefined && setNice(next.pid, OVERLAP_NICE, true);
    const outcome = await this.startOutcome(next);
    if (niced && !next.exited) setNice(next.pid, priority, true);
    if (this.holder.shuttingDown) return;
    if (outcome === 'ready') {
      this.current = next;
      this.quickExits = 0;
      this.log.info(`pid ${next.pid} is serving: stopping pid ${old.pid}`);
      if (!old.exited) await this.stop(old, 'SIGTERM');
      return;
    }
    const why = outcome === 'timeout'
      ? `sent no READY=1 within ${this.options.readyTimeoutMs / 1000} s (--ready-timeout): stopped it`
      : 'exited before it was ready';
    if (outcome === 'timeout') await this.stop(next, 'SIGTERM');
    else await reapGroup(next.pid, this.options.stopTimeoutMs, true); // what it started goes with it
    this.store.dropRun(next.pid, next.seq); // it never served: what it stored goes too
    if (!old.exited) {
      this.log.error(`restart failed: pid ${next.pid} ${why}; pid ${old.pid} keeps serving`);
      return;
    }
    this.log.error(`restart failed: pid ${next.pid} ${why}; pid ${old.pid} has exited too`);
    if (this.current === undefined && !this.holder.shuttingDown) this.afterExit(old, await old.exit, 'exited');
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
      // --lazy between runs is its idle state: stopping it then is a clean stop.
      this.finish(this.options.lazy ? 0 : exitStatus(null, signal));
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
      for (const fd of fds) native().close(fd);
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
      run.markReady();
      events.push(`is ready after ${Math.round(performance.now() - run.startedAt)} ms`);
    }
    if (fields.get('RELOADING') === '1') events.push('is reloading');
    if (fields.get('STOPPING') === '1') events.push('is stopping');
    const statusText = fields.has('STATUS') ? `status: ${fields.get('STATUS')}` : '';
    if (events.length > 0) this.log.info(`pid ${pid} ${events.join(', ')}${statusText ? `; ${statusText}` : ''}`);
    else if (statusText) this.log.info(statusText);
    if (fields.has('ERRNO')) this.log.info(`pid ${pid} reports errno ${fields.get('ERRNO')}`);
    let kept = new Set<number>();
    const storing = fields.get('FDSTOREREMOVE') === '1' || (fields.get('FDSTORE') === '1' && fds.length > 0);
    const successor = this.current !== undefined && this.current.seq > run.seq ? this.current : undefined;
    if (storing && successor) {
      // Replaced (--overlap): no longer the main process, as with NotifyAccess=main.
      this.log.info(`pid ${pid} was replaced by pid ${successor.pid}: its ${fields.get('FDSTOREREMOVE') === '1' ? 'FDSTOREREMOVE=1' : 'FDSTORE=1'} is ignored${fds.length > 0 ? ' (fds closed)' : ''}`);
    } else if (fields.get('FDSTOREREMOVE') === '1') {
      this.store.remove(pid, run.seq, fields.get('FDNAME'));
    } else if (storing) {
      kept = this.store.add(pid, run.seq, fields.get('FDNAME'), fds);
    }
    // Everything else (including BARRIER=1's pipe) is closed, which is
    // also how a barrier is answered.
    for (const fd of fds) if (!kept.has(fd)) native().close(fd);
  }

  private cleanup(): void {
    this.traffic?.close();
    this.traffic = undefined;
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
