// SPDX-License-Identifier: MIT
/**
 * The service watchdog (`WatchdogSec=`): the typed `sd_watchdog_enabled(3)`,
 * the `WATCHDOG=` notifications, and a pinger gated on the health of the
 * event loop so that systemd restarts an app that hangs.
 *
 * @see sd_watchdog_enabled(3), sd_notify(3), systemd.service(5) `WatchdogSec=`
 */
import { EventEmitter } from 'node:events';
import { native } from './binding';
import { check, invalid } from './errors';
import { notify } from './notify';
import { msToUsec, own } from './validate';
import { warn } from './warnings';

/** What {@link watchdogEnabled} found. */
export interface WatchdogInfo {
  /** Whether the manager expects `WATCHDOG=1` pings from this process. */
  enabled: boolean;
  /** The watchdog timeout in microseconds (`WATCHDOG_USEC`), 0 when not enabled. */
  usec: number;
}

/**
 * Whether the service manager expects watchdog pings from this process, and
 * how often: `sd_watchdog_enabled(3)`. Reads `WATCHDOG_USEC`, and
 * `WATCHDOG_PID` when set (pings are expected only from that process). Does
 * not change the environment.
 *
 * @throws {@link SystemError} `EINVAL` when `WATCHDOG_USEC` / `WATCHDOG_PID`
 *   are malformed (syscall `sd_watchdog_enabled`)
 * @see sd_watchdog_enabled(3)
 * @example
 * ```ts
 * const { enabled, usec } = watchdogEnabled(); // { enabled: true, usec: 30000000 }
 * ```
 */
export function watchdogEnabled(): WatchdogInfo {
  const { result, usec } = native().watchdogEnabled();
  check(result, 'sd_watchdog_enabled', `WATCHDOG_USEC=${JSON.stringify(process.env.WATCHDOG_USEC)} WATCHDOG_PID=${JSON.stringify(process.env.WATCHDOG_PID)}`);
  return result > 0 ? { enabled: true, usec } : { enabled: false, usec: 0 };
}

/**
 * Send one watchdog keep-alive ping (`WATCHDOG=1`). Usually {@link startWatchdog}
 * does this for you.
 *
 * @returns `true` sent, `false` not supported (`NOTIFY_SOCKET` unset)
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * setInterval(watchdog, watchdogEnabled().usec / 2000).unref();
 * ```
 */
export function watchdog(): boolean {
  return notify({ WATCHDOG: 1 });
}

/**
 * Tell the manager the service is unhealthy now (`WATCHDOG=trigger`): it acts
 * as if the watchdog timeout had passed (`WatchdogSignal=`, `Restart=`).
 *
 * @returns `true` sent, `false` not supported (`NOTIFY_SOCKET` unset)
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * if (database.lost) watchdogTrigger();
 * ```
 */
export function watchdogTrigger(): boolean {
  return notify({ WATCHDOG: 'trigger' });
}

/**
 * Change the watchdog timeout at run time (`WATCHDOG_USEC=`). The manager
 * restarts its watchdog timer with the new value; a running {@link Watchdog}
 * follows and pings at its fraction of the new timeout.
 *
 * @param ms - the new timeout in milliseconds (>= 0)
 * @returns `true` sent, `false` not supported (`NOTIFY_SOCKET` unset)
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a negative or non-finite `ms`
 * @throws {@link SystemError} when sending failed (syscall `sd_notify`)
 * @see sd_notify(3)
 * @example
 * ```ts
 * watchdogTimeout(120_000); // a long compaction is coming
 * ```
 */
export function watchdogTimeout(ms: number): boolean {
  const usec = msToUsec(ms, 'watchdogTimeout');
  const sent = notify({ WATCHDOG_USEC: usec });
  if (sent) instance?.adoptTimeout(Number(usec));
  return sent;
}

/** Why the {@link Watchdog} did not ping at its last turn. */
export type WatchdogSkipReason =
  /** The event loop was blocked longer than `maxLoopDelayMs` since the previous turn. */
  | 'loop-blocked'
  /** The `healthy()` check returned false (or threw: see `error`). */
  | 'unhealthy'
  /** `NOTIFY_SOCKET` is not set, so there is nobody to ping; or `WATCHDOG_USEC` / `WATCHDOG_PID` are malformed (see `error`). */
  | 'unsupported'
  /** Sending `WATCHDOG=1` failed (see `error`, e.g. `EAGAIN`). */
  | 'send-failed';

/** One turn at which the {@link Watchdog} did not ping. */
export interface WatchdogSkip {
  /** Why. */
  reason: WatchdogSkipReason;
  /** When (`Date.now()`). */
  at: number;
  /** The longest event-loop blockage seen since the previous turn, in ms. */
  blockedMs: number;
  /** The error from `healthy()` or from sending, if any. */
  error?: unknown;
}

/** Options of {@link startWatchdog}. */
export interface WatchdogOptions {
  /**
   * Extra health check run at every turn; no ping while it returns false
   * (or throws). Keep it synchronous and cheap. Default: none.
   */
  healthy?: () => boolean;
  /**
   * No ping at a turn when the event loop was blocked longer than this since
   * the previous turn (measured by an unref'd sampling timer and the lateness
   * of the pinger's own timer). Default: half the watchdog timeout. `Infinity`
   * disables the check.
   */
  maxLoopDelayMs?: number;
  /** Ping every `fraction` of the watchdog timeout, 0 < fraction < 1. Default 0.5, as sd_watchdog_enabled(3) advises. */
  fraction?: number;
}

let instance: Watchdog | undefined;

/**
 * The process's watchdog pinger (one per process; get it from
 * {@link startWatchdog}). It pings `WATCHDOG=1` every `fraction` of
 * `WATCHDOG_USEC` on an unref'd timer — it never keeps the process alive —
 * and skips a ping when the event loop was blocked longer than
 * `maxLoopDelayMs` or `healthy()` returns false, so the manager restarts an
 * app that hangs. Events: `'ping'` after each ping, `'skip'` with a
 * {@link WatchdogSkip}. It never emits `'error'`.
 *
 * @see sd_watchdog_enabled(3), systemd.service(5) `WatchdogSec=`
 * @example
 * ```ts
 * const wd = startWatchdog({ healthy: () => queue.depth < 10_000 });
 * wd.on('skip', ({ reason, blockedMs }) => log.warn({ reason, blockedMs }, 'watchdog ping skipped'));
 * // later: wd.lastSkip, wd.pings, wd.running, wd.stop()
 * ```
 */
export class Watchdog extends EventEmitter {
  /** Pings sent since the process started. */
  pings = 0;
  /** Turns skipped since the process started. */
  skips = 0;
  /** When the last ping was sent (`Date.now()`), or `undefined`. */
  lastPing: number | undefined;
  /** The last skipped turn and why, or `undefined`. */
  lastSkip: WatchdogSkip | undefined;

  #started = false;
  #usec = 0;
  #options: Required<Pick<WatchdogOptions, 'fraction'>> & WatchdogOptions = { fraction: 0.5 };
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #due = 0;
  #sampleTimer: NodeJS.Timeout | undefined;
  #resolutionMs = 0;
  #lastSample = 0;
  #maxLag = 0;

  private constructor() {
    super();
  }

  /** @internal */
  static instance(): Watchdog {
    instance ??= new Watchdog();
    return instance;
  }

  /** Whether pings are scheduled (started, and a watchdog timeout is known). */
  get running(): boolean {
    return this.#started && this.#usec > 0;
  }

  /** The watchdog timeout in microseconds this pinger works to (0 when none). */
  get usec(): number {
    return this.#usec;
  }

  /** Milliseconds between pings (0 while no watchdog timeout is known). */
  get intervalMs(): number {
    return this.#usec > 0 ? (this.#usec / 1000) * this.#options.fraction : 0;
  }

  /** The loop-blockage threshold in ms in effect. */
  get maxLoopDelayMs(): number {
    return this.#options.maxLoopDelayMs ?? this.#usec / 2000;
  }

  /**
   * Start pinging (idempotent: a running watchdog keeps its single timer;
   * options given again replace the earlier ones). Reads `WATCHDOG_USEC` /
   * `WATCHDOG_PID` the first time; when the manager expects no pings from
   * this process it schedules nothing (until {@link watchdogTimeout} sets a
   * timeout). The first ping is sent on the next turn of the event loop.
   *
   * A malformed `WATCHDOG_USEC` / `WATCHDOG_PID` does not throw: it emits the
   * warning `SD_ACTIVATE_WATCHDOG_MALFORMED_ENV`, records an `unsupported`
   * skip with the error in {@link Watchdog.lastSkip}, and schedules nothing.
   *
   * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for bad options
   */
  start(options: WatchdogOptions = {}): this {
    options = own(options, 'watchdog options');
    validate(options);
    this.#options = { ...this.#options, ...definedOnly(options) };
    if (!this.#started) {
      if (this.#usec === 0) this.#usec = this.#readEnvironment();
      this.#started = true;
    }
    if (this.#usec > 0 && !this.#timer) this.#schedule(0);
    return this;
  }

  /**
   * WATCHDOG_USEC / WATCHDOG_PID, or 0. A malformed environment never throws
   * out of start() (lifecycle() starts the watchdog at start-up): it is a
   * warning and an `unsupported` skip carrying the error, and no pings.
   */
  #readEnvironment(): number {
    try {
      return watchdogEnabled().usec;
    } catch (err) {
      const code = (err as { code?: string }).code ?? String(err);
      this.skips++;
      this.lastSkip = { reason: 'unsupported', at: Date.now(), blockedMs: 0, error: err };
      warn('SD_ACTIVATE_WATCHDOG_MALFORMED_ENV', `ignoring a malformed watchdog environment (WATCHDOG_USEC=${
        JSON.stringify(process.env.WATCHDOG_USEC ?? null)} WATCHDOG_PID=${JSON.stringify(process.env.WATCHDOG_PID ?? null)}: ${
        code}); no watchdog pings will be sent, so a WatchdogSec= service would be restarted.`);
      this.emit('skip', this.lastSkip);
      return 0;
    }
  }

  /** Stop pinging. The manager will consider the service hung after the timeout unless it is stopped too. */
  stop(): this {
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#stopSampler();
    return this;
  }

  /**
   * Change the watchdog timeout at run time: {@link watchdogTimeout}, and
   * this pinger follows.
   *
   * @throws as {@link watchdogTimeout}
   */
  setTimeout(ms: number): boolean {
    return watchdogTimeout(ms);
  }

  /** @internal a new WATCHDOG_USEC was sent */
  adoptTimeout(usec: number): void {
    this.#usec = usec;
    if (!this.#started) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (usec > 0) this.#schedule(this.intervalMs);
  }

  #schedule(delayMs: number): void {
    this.#sampler();
    this.#due = performance.now() + delayMs;
    this.#timer = setTimeout(() => this.#turn(), delayMs);
    this.#timer.unref();
  }

  /**
   * Keep an event-loop delay sampler fitting the threshold: its resolution
   * (the precision of the blockage measured) is a twentieth of the threshold,
   * between 10 ms and 1 s, so a long WatchdogSec costs few wake-ups; none runs
   * when the threshold is infinite.
   */
  #sampler(): void {
    const threshold = this.maxLoopDelayMs;
    const want = Number.isFinite(threshold) ? Math.max(10, Math.min(1000, Math.floor(threshold / 20))) : 0;
    if (want === this.#resolutionMs && (want === 0 || this.#sampleTimer)) return;
    this.#stopSampler();
    this.#resolutionMs = want;
    if (want === 0) return;
    // Not perf_hooks.monitorEventLoopDelay: its reset() forgets the sample in
    // progress, so a block that starts right after a turn would go unseen.
    this.#lastSample = performance.now();
    this.#sampleTimer = setInterval(() => {
      const now = performance.now();
      this.#maxLag = Math.max(this.#maxLag, now - this.#lastSample - want);
      this.#lastSample = now;
    }, want);
    this.#sampleTimer.unref();
  }

  #stopSampler(): void {
    if (this.#sampleTimer) clearInterval(this.#sampleTimer);
    this.#sampleTimer = undefined;
    this.#resolutionMs = 0;
    this.#maxLag = 0;
  }

  #turn(): void {
    this.#timer = undefined;
    const late = Math.max(0, performance.now() - this.#due);
    if (this.#started && this.#usec > 0) this.#schedule(this.intervalMs);
    // Decide once the delay sampler, due at the same moment after a block, has
    // recorded it: it runs in this timers phase, immediates run after it. (Not
    // unref'd: an unref'd immediate waits for the next other event.)
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#decide(late);
    });
  }

  #decide(late: number): void {
    // Blockage since the last turn: the sampler's worst lateness, including the
    // sample in progress (a block may still be unsampled when this runs).
    const pending = this.#sampleTimer ? performance.now() - this.#lastSample - this.#resolutionMs : 0;
    const blockedMs = Math.max(late, this.#maxLag, pending, 0);
    this.#maxLag = 0;
    let skip: WatchdogSkip | undefined;
    if (blockedMs > this.maxLoopDelayMs) {
      skip = { reason: 'loop-blocked', at: Date.now(), blockedMs };
    } else if (this.#options.healthy) {
      try {
        if (!this.#options.healthy()) skip = { reason: 'unhealthy', at: Date.now(), blockedMs };
      } catch (error) {
        skip = { reason: 'unhealthy', at: Date.now(), blockedMs, error };
      }
    }
    if (!skip) {
      try {
        if (watchdog()) {
          this.pings += 1;
          this.lastPing = Date.now();
        } else {
          skip = { reason: 'unsupported', at: Date.now(), blockedMs };
        }
      } catch (error) {
        skip = { reason: 'send-failed', at: Date.now(), blockedMs, error };
      }
    }
    if (skip) {
      this.skips += 1;
      this.lastSkip = skip;
      this.emit('skip', skip);
    } else {
      this.emit('ping');
    }
  }
}

/** Throw `ERR_SD_INVALID_ARGUMENT` for bad {@link WatchdogOptions}. @internal */
export function validate(o: WatchdogOptions): void {
  if (o === null || typeof o !== 'object') invalid('watchdog options must be an object');
  if (o.healthy !== undefined && typeof o.healthy !== 'function') invalid('healthy must be a function');
  if (o.fraction !== undefined && !(typeof o.fraction === 'number' && o.fraction > 0 && o.fraction < 1)) {
    invalid(`fraction must be a number between 0 and 1 (got ${String(o.fraction)})`);
  }
  if (o.maxLoopDelayMs !== undefined && !(typeof o.maxLoopDelayMs === 'number' && o.maxLoopDelayMs >= 0)) {
    invalid(`maxLoopDelayMs must be a number >= 0 (got ${String(o.maxLoopDelayMs)})`);
  }
}

function definedOnly(o: WatchdogOptions): WatchdogOptions {
  const out: WatchdogOptions = {};
  if (o.healthy !== undefined) out.healthy = o.healthy;
  if (o.fraction !== undefined) out.fraction = o.fraction;
  if (o.maxLoopDelayMs !== undefined) out.maxLoopDelayMs = o.maxLoopDelayMs;
  return out;
}

/**
 * Start the process's watchdog pinger when the manager asked for one
 * (`WatchdogSec=`): `WATCHDOG=1` every half of `WATCHDOG_USEC` (or
 * `fraction`), on an unref'd timer, skipped while the event loop was blocked
 * longer than `maxLoopDelayMs` or `healthy()` returns false. Calling it again
 * returns the same {@link Watchdog} (no second timer). Outside systemd it
 * returns an idle watchdog (`running === false`).
 *
 * A malformed `WATCHDOG_USEC` / `WATCHDOG_PID` is a warning
 * (`SD_ACTIVATE_WATCHDOG_MALFORMED_ENV`) and an idle watchdog, not an error.
 *
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for bad options
 * @see sd_watchdog_enabled(3)
 * @example
 * ```ts
 * const wd = startWatchdog({ healthy: () => db.connected });
 * wd.on('skip', (s) => log.warn(`watchdog ping skipped: ${s.reason}`));
 * ```
 */
export function startWatchdog(options?: WatchdogOptions): Watchdog {
  return Watchdog.instance().start(options);
}
