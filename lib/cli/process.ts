// SPDX-License-Identifier: MIT
/**
 * The process primitives under the `sd-activate` command's children: the
 * command is found on PATH first (a clear "not found"), started through
 * `sh -c 'LISTEN_PID=$$ exec "$0" "$@"'` so LISTEN_PID is its own pid, in its
 * own process group (signals reach the whole group, as systemd's default
 * KillMode=control-group), with the sockets at fds 3, 4, ...; exits described
 * and turned into statuses; process groups signalled and reaped. When and
 * which children are signalled is the holder's (holder.ts).
 *
 * @internal
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { withPreloadFirst } from '../preload/node-options';
import { CliError } from './types';

/** Variables a child never inherits from the holder (they describe the holder's own activation). */
const HOLDER_ONLY = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'];

/**
 * Check that `command` can be run the way `sh` will look for it.
 *
 * @throws {@link CliError} 127 when it is not found, 126 when not executable
 */
export function checkCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = command.includes('/')
    ? [command]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((d) => path.join(d === '' ? '.' : d, command));
  let found: string | undefined;
  for (const c of candidates) {
    try {
      if (fs.statSync(c).isFile()) {
        found = c;
        fs.accessSync(c, fs.constants.X_OK);
        return c;
      }
    } catch {
      // keep looking
    }
  }
  if (found) throw new CliError(126, `cannot run ${command}: ${found} is not executable`);
  throw new CliError(127, `command not found: ${command}`);
}

const NODE_NAMES = /^(node|nodejs)(\d+)?$/;

/**
 * Whether `file` (the command, as found on PATH) runs node: it is node, or
 * its `#!` line runs node (`#!/usr/bin/node`, `#!/usr/bin/env node`,
 * `#!/usr/bin/env -S node --flags`).
 */
export function runsNode(file: string): boolean {
  if (NODE_NAMES.test(path.basename(file))) return true;
  try {
    if (fs.realpathSync(file) === fs.realpathSync(process.execPath)) return true;
  } catch {
    return false;
  }
  let head = '';
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(256);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, 256, 0)).toString('latin1');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  if (!head.startsWith('#!')) return false;
  const words = head.slice(2).split('\n')[0]!.trim().split(/[ \t]+/);
  const interpreter = path.basename(words[0] ?? '');
  if (NODE_NAMES.test(interpreter)) return true;
  if (interpreter !== 'env') return false;
  const rest = words.slice(1).filter((w) => w !== '-S' && !w.startsWith('-') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  return rest.length > 0 && NODE_NAMES.test(path.basename(rest[0]!));
}

/** `env` with the zero-code preload first in NODE_OPTIONS. */
export function withPreload(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, NODE_OPTIONS: withPreloadFirst(env.NODE_OPTIONS) };
}

/** The environment for a child: the holder's, minus its own activation variables, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of HOLDER_ONLY) delete env[k];
  return { ...env, ...extra };
}

/**
 * Spawn `command` with LISTEN_PID set to its own pid and the given stdio
 * entries from fd 3 on, in a new session and process group.
 */
export function spawnActivated(
  command: string[],
  env: NodeJS.ProcessEnv,
  extraStdio: (number | Readable)[],
  stdio: StdioOptions = ['inherit', 'inherit', 'inherit'],
): ChildProcess {
  const base = Array.isArray(stdio) ? stdio : [stdio, stdio, stdio];
  return spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', ...command], {
    env,
    stdio: [...base, ...extraStdio] as StdioOptions,
    detached: true,
  });
}

/** An exit as a status: the code, or 128 + the signal number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? os.constants.signals[signal] : undefined;
  return 128 + (n ?? 0);
}

/** "exited with code 0", "was killed by SIGTERM". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return code !== null ? `exited with code ${code}` : `was killed by ${signal ?? 'a signal'}`;
}

/** Send `signal` to the process group of `pid` (the child is its leader); false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether any live (non-zombie) process remains in process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill(2) also succeeds for zombies nobody reaps; look at their state.
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] = state, rest[1] = ppid, rest[2] = pgrp
    if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') return true;
  }
  return false;
}

/**
 * After a child's main process exited: wait for the rest of its process group
 * (its own children) to go, sending them SIGTERM and, after `timeoutMs`,
 * SIGKILL, so no stray process keeps serving the sockets.
 */
export async function reapGroup(pgid: number, timeoutMs: number, termFirst: boolean): Promise<void> {
  if (!groupAlive(pgid)) return;
  if (termFirst) signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) {
      signalGroup(pgid, 'SIGKILL');
      await sleep(50);
      return;
    }
    await sleep(20);
  }
}

/** setTimeout as a promise. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
