// SPDX-License-Identifier: MIT
/**
 * The command's fd store (`--fdstore N`), like a service's
 * `FileDescriptorStoreMax=`: fds a child sends with `FDSTORE=1` are kept (one
 * copy of each open file, at most N) and passed to every next child after
 * the sockets, under their FDNAME; `FDSTOREREMOVE=1` closes them by name.
 *
 * @internal
 */
import * as fs from 'node:fs';
import { native } from '../binding';
import { formatSocket } from '../sockets';
import { isValidFdName } from '../validate';
import { DEFAULT_FDNAME } from './args';
import type { CliLog } from './types';

/** An fd a child stored. */
interface StoredFd {
  fd: number;
  name: string;
  /** The run that stored it (runs are numbered 1, 2, ... in start order). */
  run: number;
  dev: number;
  ino: number;
}

/** The fds children stored, kept across restarts. @internal */
export class FdStore {
  private readonly entries: StoredFd[] = [];

  /**
   * @param max - how many fds to keep at most (0: none, every stored fd is closed)
   * @param log - event lines
   */
  constructor(private readonly max: number, private readonly log: CliLog) {}

  /** The stored fds, in the order the next child gets them. */
  get fds(): number[] {
    return this.entries.map((e) => e.fd);
  }

  /** Their LISTEN_FDNAMES names, in the same order. */
  get names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /**
   * `FDSTORE=1` from `pid` (run number `run`) with `fds`: keep those that fit
   * and are not stored yet, under `fdname` (default `stored`).
   *
   * @returns the fds kept; the caller closes the others
   */
  add(pid: number, run: number, fdname: string | undefined, fds: number[]): Set<number> {
    const kept = new Set<number>();
    const max = this.max;
    if (max === 0) {
      this.log.info(`pid ${pid} sent ${fds.length} fd(s) with FDSTORE=1: closed (no fd store; see --fdstore)`);
      return kept;
    }
    const name = fdname ?? 'stored';
    if (!isValidFdName(name)) {
      this.log.info(`pid ${pid} sent FDSTORE=1 with an invalid FDNAME ${JSON.stringify(name)}: fds closed`);
      return kept;
    }
    for (const fd of fds) {
      let st: fs.Stats;
      try {
        st = fs.fstatSync(fd);
      } catch {
        continue;
      }
      if (this.entries.some((e) => e.dev === st.dev && e.ino === st.ino)) continue; // already stored
      if (this.entries.length >= max) {
        this.log.info(`fd store full (--fdstore ${max}): an fd named ${name} was closed`);
        continue;
      }
      this.entries.push({ fd, name, run, dev: st.dev, ino: st.ino });
      kept.add(fd);
      const d = native().describeSocket(fd);
      const what = typeof d === 'number' ? 'fd' : formatSocket(d, { state: false });
      this.log.info(`stored ${what} as ${name} (${this.entries.length} of ${max})`);
    }
    return kept;
  }

  /**
   * `FDSTOREREMOVE=1` from run number `run`: close the stored fds named
   * `fdname` (default `unknown`) that it or an earlier run stored. What a
   * later run stored (with `--overlap`, the run replacing it) is kept, and
   * said so.
   */
  remove(pid: number, run: number, fdname: string | undefined): void {
    const name = fdname ?? DEFAULT_FDNAME;
    for (let k = this.entries.length - 1; k >= 0; k--) {
      const e = this.entries[k] as StoredFd;
      if (e.name !== name) continue;
      if (e.run > run) {
        this.log.info(`pid ${pid} removed stored fd ${name}: the one a later run stored is kept`);
        continue;
      }
      native().close(e.fd);
      this.entries.splice(k, 1);
      this.log.info(`removed stored fd ${name}`);
    }
  }

  /** Close the fds run number `run` (pid `pid`) stored: it never served (an overlapped restart's new run that failed). */
  dropRun(pid: number, run: number): void {
    for (let k = this.entries.length - 1; k >= 0; k--) {
      const e = this.entries[k] as StoredFd;
      if (e.run !== run) continue;
      native().close(e.fd);
      this.entries.splice(k, 1);
      this.log.info(`dropped stored fd ${e.name} of pid ${pid}: it never served`);
    }
  }

  /** Close every stored fd. */
  close(): void {
    for (const e of this.entries.splice(0)) native().close(e.fd);
  }
}
