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

/**
 * Set the nice value of every thread of `pid` (threads created later inherit
 * the main thread's).
 *
 * @returns whether any thread's was set
 * @internal
 */
export function setNice(pid: number, value: number): boolean {
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
