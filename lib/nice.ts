// SPDX-License-Identifier: MIT
/**
 * A process started next to one that serves (a cluster worker of a new
 * generation, the next run of an overlapped restart) is niced while it
 * starts, so the serving one keeps its core; it gets its priority back once
 * it is ready. Only where that priority can be given back: as root.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** The nice value a starting process gets: 10 where this process may restore it (root), else 0 (none). @internal */
export const STARTUP_NICE = typeof process.getuid === 'function' && process.getuid() === 0 ? 10 : 0;

/** The nice value of `pid`, or undefined when it cannot be read. @internal */
export function priorityOf(pid: number): number | undefined {
  try {
    return os.getPriority(pid);
  } catch {
    return undefined;
  }
}

/** The processes of process group `pgid` (from /proc), `pgid` itself first. */
function groupOf(pgid: number): number[] {
  const pids = [pgid];
  try {
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === pgid) continue;
      try {
        // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ')'.
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) pids.push(Number(e));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return pids;
}

/**
 * Set the nice value of every thread of `pid` (threads created later inherit
 * the main thread's), or with `group`, of every process of the process group
 * `pid` leads.
 *
 * @returns whether any thread's was set
 * @internal
 */
export function setNice(pid: number, value: number, group = false): boolean {
  if (group) return groupOf(pid).map((p) => setNice(p, value)).some(Boolean);
  let tids: number[] = [pid];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`).map(Number).filter((t) => t > 0);
  } catch {
    // gone, or no /proc: the main thread only
  }
  let ok = false;
  for (const tid of tids) {
    try {
      os.setPriority(tid, value);
      ok = true;
    } catch {
      // exited meanwhile, or not allowed
    }
  }
  return ok;
}
