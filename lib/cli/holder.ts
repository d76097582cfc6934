// SPDX-License-Identifier: MIT
/**
 * The holder's skeleton, the same in both modes (the restart mode's
 * Supervisor and the `--accept` mode's Acceptor): the signal handlers it
 * installs and removes, the children it started, starting one (with the
 * "cannot start" report), stopping them (their process group signalled,
 * SIGKILL after `--stop-timeout`, the rest of the group waited for), the
 * shutdown on a stop signal (the first begins it, later ones are passed on),
 * SIGTERM to the children as a last resort when the holder exits with some
 * still running, and the command's exit status, resolved once.
 *
 * @internal
 */
import type { ChildProcess } from 'node:child_process';
import { reapGroup, signalGroup } from './process';
import type { CliLog } from './types';

/** The signals that stop the command: passed to the children, then the command exits. @internal */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];

/** Signals the restart mode passes on to its children as they are. @internal */
export const PASS_SIGNALS: readonly NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2'];

/** A child the holder started. @internal */
export interface Child {
  /** Its pid, also its process group's id (it is the group's leader). */
  readonly pid: number;
  /** Resolves with its exit status once its main process has exited. */
  readonly exit: Promise<number>;
}

/** What a mode does on the signals the holder handles. @internal */
export interface SignalActions {
  /** SIGHUP. */
  hangup(): void;
  /** The first SIGINT / SIGTERM / SIGQUIT (later ones are passed on to the children). */
  shutdown(signal: NodeJS.Signals): void;
  /** Signals passed on as they are to every child's process group. */
  pass: readonly NodeJS.Signals[];
}

/** The holder's signals, children and exit status; see the file's summary. @internal */
export class Holder<C extends Child> {
  /** The live children by pid: a mode adds each child it starts and deletes it once it has exited. */
  readonly children = new Map<number, C>();
  /** Resolves with the command's exit status (see {@link Holder.finish}). */
  readonly done: Promise<number>;
  private stopping = false;
  private ended = false;
  private resolveDone: (status: number) => void = () => {};
  private readonly handlers: [NodeJS.Signals, () => void][] = [];
  private readonly onProcessExit = (): void => {
    // Last resort (the holder is exiting with a child still running).
    for (const pid of this.children.keys()) signalGroup(pid, 'SIGTERM');
  };

  /**
   * @param log - event and error lines
   * @param stopTimeoutMs - time between a stop signal and SIGKILL (`--stop-timeout`)
   */
  constructor(private readonly log: CliLog, private readonly stopTimeoutMs: number) {
    this.done = new Promise<number>((resolve) => { this.resolveDone = resolve; });
  }

  /** Whether the command is shutting down (a stop signal came, or it has finished). */
  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Whether {@link Holder.finish} has run. */
  get finished(): boolean {
    return this.ended;
  }

  /** Install the signal handlers and the last-resort exit hook (removed by {@link Holder.finish}). */
  listen(actions: SignalActions): void {
    const on = (sig: NodeJS.Signals, fn: () => void): void => {
      process.on(sig, fn);
      this.handlers.push([sig, fn]);
    };
    on('SIGHUP', () => actions.hangup());
    for (const sig of STOP_SIGNALS) {
      on(sig, () => {
        if (this.ended) return;
        if (this.stopping) {
          this.forward(sig);
          return;
        }
        this.stopping = true;
        actions.shutdown(sig);
      });
    }
    for (const sig of actions.pass) on(sig, () => this.forward(sig));
    process.on('exit', this.onProcessExit);
  }

  /** Send `signal` to every live child's process group. */
  forward(signal: NodeJS.Signals): void {
    for (const pid of this.children.keys()) signalGroup(pid, signal);
  }

  /**
   * Start a child with `spawnChild`. When it cannot be started (the spawn
   * throws, or gives no pid and then an `error` event) print
   * "cannot start COMMAND: why" and call `failed`.
   *
   * @returns the child process, or `undefined` when it did not start
   */
  launch(command: string, spawnChild: () => ChildProcess, failed: () => void): ChildProcess & { pid: number } | undefined {
    const cannot = (err: Error): void => {
      this.log.error(`cannot start ${command}: ${err.message}`);
      failed();
    };
    let proc: ChildProcess;
    try {
      proc = spawnChild();
    } catch (err) {
      cannot(err as Error);
      return undefined;
    }
    if (proc.pid === undefined) {
      proc.once('error', cannot);
      return undefined;
    }
    return proc as ChildProcess & { pid: number };
  }

  /**
   * Stop one child: `signal` to its process group, SIGKILL after the stop
   * timeout, then wait for it and for the rest of its group.
   *
   * @param announceKill - print a line when SIGKILL has to be sent
   * @returns its exit status
   */
  async stop(child: C, signal: NodeJS.Signals, announceKill: boolean): Promise<number> {
    signalGroup(child.pid, signal);
    const timeout = this.stopTimeoutMs;
    const timer = setTimeout(() => {
      if (announceKill) this.log.info(`pid ${child.pid} still running ${timeout / 1000} s after ${signal}: sending SIGKILL`);
      signalGroup(child.pid, 'SIGKILL');
    }, timeout);
    const status = await child.exit;
    clearTimeout(timer);
    await reapGroup(child.pid, timeout, false);
    return status;
  }

  /**
   * Pass `signal` to `children` ("passing SIGTERM to pid 1, 2"), stop each
   * with `stopOne`, and resolve with their exit statuses in the same order.
   */
  async stopAll(children: readonly C[], signal: NodeJS.Signals, stopOne: (child: C) => Promise<number>): Promise<number[]> {
    if (children.length > 0) this.log.info(`passing ${signal} to pid ${children.map((c) => c.pid).join(', ')}`);
    return Promise.all(children.map(stopOne));
  }

  /**
   * End the command with `status` (once; later calls are ignored): remove
   * the signal handlers and the exit hook, and resolve {@link Holder.done}.
   */
  finish(status: number): void {
    if (this.ended) return;
    this.ended = true;
    this.stopping = true;
    for (const [sig, fn] of this.handlers.splice(0)) process.removeListener(sig, fn);
    process.removeListener('exit', this.onProcessExit);
    this.resolveDone(status);
  }
}
