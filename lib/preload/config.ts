// SPDX-License-Identifier: MIT
/**
 * The zero-code preload's configuration: environment variables only (the app
 * is unmodified). Every variable is optional; a bad value is a warning naming
 * the variable, the value and the default used instead, never a crash.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `SD_ACTIVATE_SETTLE_MS` | `250` | how long the app must have been listening, with no listen() pending, before the settle moment |
 * | `SD_ACTIVATE_READY` | `1` | send `READY=1` at the settle moment (`0`: the app sends it) |
 * | `SD_ACTIVATE_GRACEFUL_STOP` | `0` (off) | on SIGTERM: `STOPPING=1`, stop accepting, finish requests for up to N seconds, exit |
 * | `SD_ACTIVATE_LOG` | `info` | `info`: a line per adopted socket and every warning; `warn`: warnings only |
 * | `SD_ACTIVATE_FDNAMES` | none | `name=address,...`: the listen() of that address takes the socket of that LISTEN_FDNAMES name, on whatever port the unit gives it |
 * | `SD_ACTIVATE_INHERIT` | `0` | `1`: child processes keep the preload in `NODE_OPTIONS` and inherit `NOTIFY_SOCKET` |
 * | `SD_ACTIVATE_IDLE_EXIT_MS` | `0` (off) | scale to zero: after N ms with no open connection, stop gracefully and exit 0 (the `.socket` unit starts the app again) |
 *
 * @internal
 */
import { parseIp } from '../activation/address';
import { isValidFdName } from '../validate';

/** One `SD_ACTIVATE_FDNAMES` entry: the listen() address it names, and the socket name it maps to. @internal */
export interface FdNameEntry {
  name: string;
  /** `port` (any host), `host` + `port`, or `path`. */
  port?: number;
  host?: string;
  path?: string;
  /** As written. */
  text: string;
}

/** The preload's settings. @internal */
export interface PreloadConfig {
  settleMs: number;
  ready: boolean;
  /** Graceful stop on SIGTERM, in ms; 0: off (Node's default SIGTERM handling). */
  stopMs: number;
  log: 'info' | 'warn';
  fdnames: FdNameEntry[];
  inherit: boolean;
  /** Idle exit after this many ms with no open connection; 0: off. */
  idleMs: number;
}

/** The variables {@link readConfig} reads. @internal */
export const PRELOAD_VARIABLES = ['SD_ACTIVATE_SETTLE_MS', 'SD_ACTIVATE_READY', 'SD_ACTIVATE_GRACEFUL_STOP', 'SD_ACTIVATE_LOG',
  'SD_ACTIVATE_FDNAMES', 'SD_ACTIVATE_INHERIT', 'SD_ACTIVATE_IDLE_EXIT_MS'] as const;

const YES = new Set(['1', 'yes', 'true', 'on']);
const NO = new Set(['0', 'no', 'false', 'off', '']);

/** Read one `SD_ACTIVATE_FDNAMES` entry (`web=3000`, `web=127.0.0.1:3000`, `web=[::1]:3000`, `admin=/run/app.sock`), or why not. */
function fdNameEntry(text: string): FdNameEntry | string {
  const eq = text.indexOf('=');
  if (eq <= 0) return 'expected name=address';
  const name = text.slice(0, eq);
  const addr = text.slice(eq + 1);
  if (!isValidFdName(name)) return `${JSON.stringify(name)} is not a valid FileDescriptorName=`;
  if (addr.startsWith('/') || addr.startsWith('@')) return addr.length > 1 ? { name, path: addr, text } : 'an empty path';
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(addr);
  if (!m) return `${JSON.stringify(addr)} is not PORT, HOST:PORT, [IPv6]:PORT or a path`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} is out of range (1-65535)`;
  const raw = m[1];
  if (raw === undefined) return { name, port, text };
  const host = raw.startsWith('[') ? raw.slice(1, -1) : raw;
  if (raw.startsWith('[') && !parseIp(host)) return `${JSON.stringify(raw)} is not an IPv6 address`;
  return { name, port, host, text };
}

/**
 * Read the preload's variables from `env`.
 *
 * @returns the settings, and one problem text per bad value (the default was used)
 * @internal
 */
export function readConfig(env: NodeJS.ProcessEnv): { config: PreloadConfig; problems: string[] } {
  const problems: string[] = [];
  const bad = (name: string, value: string, why: string, used: string): void => {
    problems.push(`${name}=${JSON.stringify(value)} is not valid (${why}); using ${used}`);
  };
  const flag = (name: string, dflt: boolean): boolean => {
    const v = env[name];
    if (v === undefined) return dflt;
    const k = v.trim().toLowerCase();
    if (YES.has(k)) return true;
    if (NO.has(k)) return false;
    bad(name, v, 'expected 1 or 0', dflt ? '1' : '0');
    return dflt;
  };
  const number = (name: string, dflt: number, max: number, unit: string, scale: number): number => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return dflt;
    const n = Number(v.trim());
    if (!Number.isFinite(n) || n < 0 || n > max) {
      bad(name, v, `expected a number of ${unit} from 0 to ${max}`, String(dflt / scale));
      return dflt;
    }
    return Math.round(n * scale);
  };
  const log = env.SD_ACTIVATE_LOG;
  let logLevel: PreloadConfig['log'] = 'info';
  if (log !== undefined && log !== '') {
    if (log === 'info' || log === 'warn') logLevel = log;
    else bad('SD_ACTIVATE_LOG', log, 'expected info or warn', 'info');
  }
  const fdnames: FdNameEntry[] = [];
  const names = env.SD_ACTIVATE_FDNAMES;
  if (names !== undefined) {
    for (const part of names.split(/[\s,]+/).filter(Boolean)) {
      const e = fdNameEntry(part);
      if (typeof e === 'string') problems.push(`SD_ACTIVATE_FDNAMES entry ${JSON.stringify(part)} is not valid (${e}); it is ignored`);
      else fdnames.push(e);
    }
  }
  return {
    config: {
      settleMs: number('SD_ACTIVATE_SETTLE_MS', 250, 60000, 'milliseconds', 1),
      ready: flag('SD_ACTIVATE_READY', true),
      stopMs: number('SD_ACTIVATE_GRACEFUL_STOP', 0, 3600, 'seconds', 1000),
      log: logLevel,
      fdnames,
      inherit: flag('SD_ACTIVATE_INHERIT', false),
      idleMs: number('SD_ACTIVATE_IDLE_EXIT_MS', 0, 86_400_000, 'milliseconds', 1),
    },
    problems,
  };
}
