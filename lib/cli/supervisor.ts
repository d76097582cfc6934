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
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { native } from '../binding';
import { parseState } from '../notify-state';
import { DEFAULT_FDNAME } from './args';
import {
  childEnv, describeExit, exitStatus, reapGroup, signalGroup, spawnActivated, STOP_SIGNALS,
} from './process';
import { formatSocket, isValidFdName } from '../sockets';
import { CliError, type BoundSocket, type CliLog, type CliOptions } from './types';
import { watchPaths, type Watch } from './watch';

/** A child run. */
interface Run {
  proc: ChildProcess;
  pid: number;
  startedAt: number;
  ready: boolean;
  stopping: boolean;
  exited: boolean;
  exit: Promise<number>;
}

/** An fd the child stored with FDSTORE=1. */
interface StoredFd {
  fd: number;
  name: string;
  dev: number;
  ino: number;
}

/** A run that ends within this many ms of starting counts towards the crash-loop guard. */
const QUICK_EXIT_MS = 5000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const WATCH_DEBOUNCE_MS = 200;

const PASS_SIGNALS: NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2'];

/** Runs and restarts the command over the held sockets. @internal */
export class Supervisor {
  private current: Run | undefined;
  private readonly runs = new Map<number, Run>();
  /** Runs that exited lately: their last messages may be read after their exit. */
  private readonly exitedRuns = new Map<number, Run>();
  private receiver: { close(): void } | undefined;
  private notifyDir = '';
  private notifyPath = '';
  private watch: Watch | undefined;
  private shuttingDown = false;
  private restarting = false;
  private finished = false;
  private backoff: NodeJS.Timeout | undefined;
  private quickExits = 0;
  private lastStatus: number | undefined;
  private readonly store: StoredFd[] = [];
  private readonly ignoredPids = new Set<number>();
  private readonly drains = new Map<string, () => void>();
  private drainSeq = 0;
  private readonly handlers: [NodeJS.Signals, () => void][] = [];
  private resolveDone: (status: number) => void = () => {};
  private readonly onProcessExit = (): void => {
    // Last resort (the holder is exiting with a child still running).
    for (const r of this.runs.values()) signalGroup(r.pid, 'SIGTERM');
  };

  /**
   * @param sockets - the bound sockets, in fd order
   * @param options - the parsed command line
   * @param log - event and error lines
   */
  constructor(
    private readonly sockets: BoundSocket[],
    private readonly options: CliOptions,
    private readonly log: CliLog,
  ) {}

  /**
   * Start the receiver, the watchers, the signal handlers and the first
   * child; resolve with the command's exit status.
   *
   * @throws {@link CliError} when the notify receiver cannot be created
   */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => { this.resolveDone = resolve; });
    this.notifyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-activate-'));
    this.notifyPath = path.join(this.notifyDir, 'notify');
    try {
      this.receiver = new native.NotifyReceiver(this.notifyPath, (text, pid, fds) => this.onNotify(text, pid, fds));
    } catch (err) {
      fs.rmSync(this.notifyDir, { recursive: true, force: true });
      throw new CliError(1, `cannot create the notify socket ${this.notifyPath}: ${(err as Error).message}`);
    }
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
    const on = (sig: NodeJS.Signals, fn: () => void): void => {
      process.on(sig, fn);
      this.handlers.push([sig, fn]);
    };
    on('SIGHUP', () => { void this.restart('SIGHUP'); });
    for (const sig of STOP_SIGNALS) on(sig, () => { void this.shutdown(sig); });
    for (const sig of PASS_SIGNALS) {
      on(sig, () => {
        for (const r of this.runs.values()) signalGroup(r.pid, sig);
      });
    }
    process.on('exit', this.onProcessExit);
    this.start();
    return done;
  }

  /** Start a child with the sockets and stored fds. */
  private start(): void {
    const fds = [...this.sockets.map((s) => s.fd), ...this.store.map((e) => e.fd)];
    const names = [...this.sockets.map((s) => s.name), ...this.store.map((e) => e.name)];
    const env = childEnv({
      LISTEN_FDS: String(fds.length),
      LISTEN_FDNAMES: names.join(':'),
      NOTIFY_SOCKET: this.notifyPath,
    });
    let proc: ChildProcess;
    try {
      proc = spawnActivated(this.options.command, env, fds);
    } catch (err) {
      this.log.error(`cannot start ${this.options.command[0]}: ${(err as Error).message}`);
      this.finish(1);
      return;
    }
    const pid = proc.pid;
    if (pid === undefined) {
      proc.once('error', (err) => {
        this.log.error(`cannot start ${this.options.command[0]}: ${err.message}`);
        this.finish(1);
      });
      return;
    }
    let resolveExit: (status: number) => void = () => {};
    const run: Run = {
      proc, pid, startedAt: performance.now(), ready: false, stopping: false, exited: false,
      exit: new Promise((r) => { resolveExit = r; }),
    };
    this.runs.set(pid, run);
    this.current = run;
    proc.once('exit', async (code, signal) => {
      // Read what it sent before it exited (STOPPING=1, STATUS=) first.
      await this.drainNotify();
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
    this.log.info(`started pid ${pid}: ${this.options.command.join(' ')}`);
  }

  /** The child exited: by itself (restart, wait, or end), or because we stopped it. */
  private async onExit(run: Run, status: number, how: string): Promise<void> {
    if (run.stopping || this.shuttingDown || run !== this.current) return;
    this.current = undefined;
    this.lastStatus = status;
    const ran = performance.now() - run.startedAt;
    this.quickExits = ran < QUICK_EXIT_MS ? this.quickExits + 1 : 0;
    // Its own children go with it (KillMode=control-group).
    await reapGroup(run.pid, this.options.stopTimeoutMs, true);
    if (this.shuttingDown || this.restarting || this.current !== undefined) return;
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
        if (!this.shuttingDown && this.current === undefined) this.start();
      }, delay);
    } else if (waiting) {
      this.log.info('waiting for a change (or SIGHUP) to start it again');
    } else {
      this.finish(status);
    }
  }

  /** Restart: stop the child (if any), then start the next one. */
  async restart(reason: string): Promise<void> {
    if (this.shuttingDown || this.restarting) return; // one under way covers this request
    this.restarting = true;
    if (this.backoff) {
      clearTimeout(this.backoff);
      this.backoff = undefined;
    }
    this.log.info(`restarting because ${reason}`);
    const old = this.current;
    if (old && !old.exited) await this.stop(old, 'SIGTERM');
    this.restarting = false;
    if (this.shuttingDown) return;
    this.quickExits = 0;
    this.start();
  }

  /** Signal a run's group and wait for it to exit (SIGKILL after the stop timeout). */
  private async stop(run: Run, signal: NodeJS.Signals): Promise<number> {
    run.stopping = true;
    signalGroup(run.pid, signal);
    const timeout = this.options.stopTimeoutMs;
    const timer = setTimeout(() => {
      this.log.info(`pid ${run.pid} still running ${timeout / 1000} s after ${signal}: sending SIGKILL`);
      signalGroup(run.pid, 'SIGKILL');
    }, timeout);
    const status = await run.exit;
    clearTimeout(timer);
    await reapGroup(run.pid, timeout, false);
    return status;
  }

  /** SIGINT / SIGTERM / SIGQUIT: pass it on, wait, end with the child's status. */
  async shutdown(signal: NodeJS.Signals): Promise<void> {
    if (this.finished) return;
    if (this.shuttingDown) {
      for (const r of this.runs.values()) signalGroup(r.pid, signal);
      return;
    }
    this.shuttingDown = true;
    if (this.backoff) clearTimeout(this.backoff);
    this.watch?.close();
    this.watch = undefined;
    const live = [...this.runs.values()];
    if (live.length === 0) {
      this.log.info(`${signal}: no child running, exiting`);
      this.finish(128 + (os.constants.signals[signal] ?? 0));
      return;
    }
    this.log.info(`passing ${signal} to pid ${live.map((r) => r.pid).join(', ')}`);
    const main = this.current ?? live[live.length - 1] as Run;
    const statuses = await Promise.all(live.map((r) => this.stop(r, signal)));
    this.finish(statuses[live.indexOf(main)] ?? 0);
  }

  /**
   * Resolve once every datagram queued on the notify socket so far has been
   * handled: a marker sent to ourselves comes back after them (one queue,
   * in order).
   */
  private drainNotify(): Promise<void> {
    if (!this.receiver) return Promise.resolve();
    const token = `X_SD_ACTIVATE_DRAIN=${++this.drainSeq}`;
    const saved = process.env.NOTIFY_SOCKET;
    let sent: number;
    process.env.NOTIFY_SOCKET = this.notifyPath;
    try {
      sent = native.notify(0, token, []);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
    if (sent <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.drains.delete(token); resolve(); }, 2000);
      this.drains.set(token, () => { clearTimeout(timer); resolve(); });
    });
  }

  /** A notify datagram; only the children we started may speak (NotifyAccess=main). */
  private onNotify(text: string, pid: number, fds: number[]): void {
    if (pid === process.pid && this.drains.has(text)) {
      const done = this.drains.get(text) as () => void;
      this.drains.delete(text);
      done();
      return;
    }
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
    const kept = new Set<number>();
    if (fields.get('FDSTOREREMOVE') === '1') this.storeRemove(fields.get('FDNAME'));
    else if (fields.get('FDSTORE') === '1' && fds.length > 0) this.storeAdd(pid, fields.get('FDNAME'), fds, kept);
    // Everything else (including BARRIER=1's pipe) is closed, which is
    // also how a barrier is answered.
    for (const fd of fds) if (!kept.has(fd)) native.close(fd);
  }

  private storeAdd(pid: number, fdname: string | undefined, fds: number[], kept: Set<number>): void {
    const max = this.options.fdstore;
    if (max === 0) {
      this.log.info(`pid ${pid} sent ${fds.length} fd(s) with FDSTORE=1: closed (no fd store; see --fdstore)`);
      return;
    }
    const name = fdname ?? 'stored';
    if (!isValidFdName(name)) {
      this.log.info(`pid ${pid} sent FDSTORE=1 with an invalid FDNAME ${JSON.stringify(name)}: fds closed`);
      return;
    }
    for (const fd of fds) {
      let st: fs.Stats;
      try {
        st = fs.fstatSync(fd);
      } catch {
        continue;
      }
      if (this.store.some((e) => e.dev === st.dev && e.ino === st.ino)) continue; // already stored
      if (this.store.length >= max) {
        this.log.info(`fd store full (--fdstore ${max}): an fd named ${name} was closed`);
        continue;
      }
      this.store.push({ fd, name, dev: st.dev, ino: st.ino });
      kept.add(fd);
      const d = native.describeSocket(fd);
      const what = typeof d === 'number' ? 'fd' : formatSocket(d, { state: false });
      this.log.info(`stored ${what} as ${name} (${this.store.length} of ${max})`);
    }
  }

  private storeRemove(fdname: string | undefined): void {
    const name = fdname ?? DEFAULT_FDNAME;
    for (let k = this.store.length - 1; k >= 0; k--) {
      const e = this.store[k] as StoredFd;
      if (e.name !== name) continue;
      native.close(e.fd);
      this.store.splice(k, 1);
      this.log.info(`removed stored fd ${name}`);
    }
  }

  private cleanup(): void {
    this.watch?.close();
    this.watch = undefined;
    if (this.backoff) clearTimeout(this.backoff);
    this.receiver?.close();
    this.receiver = undefined;
    if (this.notifyDir !== '') fs.rmSync(this.notifyDir, { recursive: true, force: true });
    this.notifyDir = '';
    for (const e of this.store.splice(0)) native.close(e.fd);
    for (const [sig, fn] of this.handlers.splice(0)) process.removeListener(sig, fn);
    process.removeListener('exit', this.onProcessExit);
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    this.shuttingDown = true;
    if (this.lastStatus === undefined) this.lastStatus = status;
    this.cleanup();
    this.resolveDone(status);
  }
}
