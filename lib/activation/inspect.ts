// SPDX-License-Identifier: MIT
/**
 * The inspect phase of activation: read the activation environment once
 * (LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES), classify it, explain what is
 * wrong with it, and describe each inherited fd for the matcher. Also the
 * host facts the plan depends on (IPv6, net.core.somaxconn). The only phase
 * that reads the environment and probes fds.
 *
 * @internal
 */
import fs = require('node:fs');
import { loadError, loadProblem } from '../binding';
import type { Candidate } from './match';
import type { ActivationPlan, PlanOptions } from './plan';
import { consume, describeSocket, inodeOf, type LISTEN_ENV } from '../sockets';
import { slot } from '../slot';
import { warning, type Warning } from '../warnings';

/**
 * What the activation environment was:
 * `none` (not socket-activated), `inherited` (fds were passed to this process),
 * `pid-mismatch` (LISTEN_FDS meant for another process), `malformed`, or
 * `unavailable` (fds passed but no native addon).
 */
export type ActivationEnvironment = 'none' | 'inherited' | 'pid-mismatch' | 'malformed' | 'unavailable';

/** LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES as they were before consumption. */
export type ListenEnv = Partial<Record<(typeof LISTEN_ENV)[number], string>>;

/** What the inspect phase found. @internal */
export interface Inspection {
  environment: ActivationEnvironment;
  env: ListenEnv;
  /** Warnings about the environment itself (mismatch, malformed, unavailable). */
  warnings: Warning[];
  /** Each inherited fd, described (or why it could not be). */
  candidates: Candidate[];
}

/** A process in words for warnings: its command line (shortened), or why not. @internal */
export function processName(pid: string): string {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const short = cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd;
    const rel = String(process.ppid) === pid ? 'this process\'s parent, ' : '';
    return short ? `${rel}${short}` : `${rel}pid ${pid}`;
  } catch {
    return 'no longer running';
  }
}

/**
 * Read (once per process) and classify the activation environment, and
 * describe every inherited fd. Never throws for what the environment says.
 *
 * @internal
 */
export function inspect(options: { unsetEnvironment?: boolean } = {}): Inspection {
  const c = consume(options.unsetEnvironment === false ? { unsetEnvironment: false } : {});
  const env = { ...c.env };
  const warnings: Warning[] = [];
  let environment: ActivationEnvironment = 'none';
  let fds = c.fds;
  const envText = `LISTEN_PID=${JSON.stringify(env.LISTEN_PID ?? null)} LISTEN_FDS=${JSON.stringify(env.LISTEN_FDS ?? null)}` +
    (env.LISTEN_FDNAMES !== undefined ? ` LISTEN_FDNAMES=${JSON.stringify(env.LISTEN_FDNAMES)}` : '');
  if (env.LISTEN_FDS !== undefined && loadError() !== undefined) {
    environment = 'unavailable';
    warnings.push(warning('SD_ACTIVATE_UNAVAILABLE', `the service manager passed sockets (${envText}) but the native addon could not load ` +
      `(${loadProblem()}); they are not used and every listener binds itself.`));
  } else if (c.error && c.unnamed) {
    // Only the names are wrong: the sockets are this process's, so match them by address.
    environment = 'inherited';
    fds = c.unnamed;
    warnings.push(warning('SD_ACTIVATE_FDNAMES_IGNORED', `LISTEN_FDNAMES=${JSON.stringify(env.LISTEN_FDNAMES)} does not name the ` +
      `${fds.length} fd(s) of LISTEN_FDS=${env.LISTEN_FDS}; they are matched by address with every name "unknown" (a listener ` +
      'that takes sockets only by fdname gets none). Check FileDescriptorName= in the .socket unit, or what passes the sockets.'));
  } else if (c.error) {
    environment = 'malformed';
    warnings.push(warning('SD_ACTIVATE_MALFORMED_ENV', `ignoring a malformed socket-activation environment (${envText}: ${c.error.code}); ` +
      'inherited fds, if any, are left alone and every listener binds itself.'));
  } else if (c.fds.length > 0) {
    environment = 'inherited';
  } else if (env.LISTEN_FDS !== undefined && env.LISTEN_FDS !== '0' && env.LISTEN_PID !== String(process.pid)) {
    environment = 'pid-mismatch';
    const who = env.LISTEN_PID === undefined
      ? 'LISTEN_PID is not set, so they cannot be claimed by this process'
      : `they were meant for pid ${env.LISTEN_PID} (${processName(env.LISTEN_PID)}), not for this process (pid ${process.pid})`;
    warnings.push(warning('SD_ACTIVATE_LISTEN_PID_MISMATCH', `LISTEN_FDS=${env.LISTEN_FDS} was set but ${who}; the sockets are left alone and every listener ` +
      'binds itself. This happens when ExecStart= starts node through a wrapper that runs it as a child ' +
      '(npm start, a shell script, nodemon). Fix: run node directly (ExecStart=/usr/bin/node /path/to/app.js), ' +
      'or make the wrapper replace itself with node (exec node app.js).'));
  }
  if (environment === 'inherited') {
    const s = slot();
    s.inherited = [...(s.inherited ?? []), ...fds.map(({ fd }) => inodeOf(fd)).filter((i): i is number => i !== undefined)];
  }
  const candidates: Candidate[] = fds.map(({ fd, name }) => {
    try {
      const { fd: _fd, ...desc } = describeSocket(fd);
      void _fd;
      return { fd, name, desc };
    } catch (err) {
      return { fd, name, error: (err as { code?: string }).code ?? String(err) };
    }
  });
  return { environment, env, warnings, candidates };
}

let somaxconnCache: number | undefined;
/** net.core.somaxconn: the kernel's cap on listen(2) backlogs, and what systemd's default Backlog= amounts to. */
function somaxconn(): number {
  if (somaxconnCache === undefined) {
    let n = NaN;
    try {
      n = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    } catch {
      // not Linux, or /proc not mounted
    }
    somaxconnCache = Number.isInteger(n) && n > 0 ? n : 4096;
  }
  return somaxconnCache;
}

let ipv6Cache: boolean | undefined;
function ipv6Available(): boolean {
  if (ipv6Cache === undefined) {
    try {
      // node:os on first need only (0.2 ms of a start-up that never asks).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const os = require('node:os') as typeof import('node:os');
      ipv6Cache = Object.values(os.networkInterfaces()).some((l) => (l ?? []).some((a) => a.family === 'IPv6'));
    } catch {
      ipv6Cache = false;
    }
  }
  return ipv6Cache;
}

/** The host facts a plan depends on, each found when the plan first needs it (most plans need neither). @internal */
export function hostFacts(): PlanOptions {
  return {
    get ipv6() {
      return ipv6Available();
    },
    get fdBacklog() {
      return somaxconn();
    },
  };
}

/** The variable a cluster worker finds its primary's plan in (JSON of an `ActivationPlan`): see `forkWorker()`. @internal */
export const PLAN_ENV = 'SD_ACTIVATE_PLAN';

/**
 * The plan a cluster primary handed this worker, taken out of the
 * environment (so the worker's own children do not see it); undefined in any
 * process that is not a cluster worker, or when it is not JSON.
 *
 * @internal
 */
export function takeWorkerPlan(): ActivationPlan | undefined {
  const text = process.env[PLAN_ENV];
  if (text === undefined) return undefined;
  delete process.env[PLAN_ENV];
  // Node takes NODE_UNIQUE_ID out of a worker's environment at start-up: ask the cluster module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!(require('node:cluster') as { isWorker: boolean }).isWorker) return undefined; // not a cluster worker: not for this process
  try {
    return JSON.parse(text) as ActivationPlan;
  } catch {
    return undefined;
  }
}
