// SPDX-License-Identifier: MIT
/**
 * Removing a unix socket file safely, for a process that may run as root:
 * the check ("a socket nobody accepts on", or "the inode we created") and the
 * removal refer to the same file. The parent directory is opened once and
 * everything after goes through that open directory (`/proc/self/fd/N/name`:
 * openat/unlinkat without native code), so a directory swapped on the path
 * in between cannot redirect the removal. A parent that other users may write
 * is refused (they could rename another socket into place), unless it is
 * sticky and owned by root or by this process's user, as `/tmp` is.
 *
 * @internal
 */
import fs = require('node:fs');
import nodePath = require('node:path');
import { probeUnixSocket } from './sockets';

/** What {@link removeStaleSocketFile} found and did. @internal */
export type StaleSocketResult =
  | { state: 'absent' | 'removed' | 'live' | 'not-a-socket' }
  | { state: 'refused'; reason: string };

/** The parent directory of `path`, open, checked, and the name within it. */
interface Parent {
  fd: number;
  /** `path`'s entry, reached through the open directory. */
  at: string;
}

function openParent(path: string): Parent | string {
  const abs = nodePath.resolve(path);
  const name = nodePath.basename(abs);
  if (name === '' || name === '.' || name === '..') return 'it has no file name';
  let fd: number;
  try {
    fd = fs.openSync(nodePath.dirname(abs), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    return `its directory cannot be opened (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  const at = `/proc/self/fd/${fd}/${name}`;
  const why = untrusted(fs.fstatSync(fd)) ?? (fs.existsSync(`/proc/self/fd/${fd}`) ? undefined : '/proc is not mounted');
  if (why !== undefined) {
    fs.closeSync(fd);
    return why;
  }
  return { fd, at };
}

/** Why a directory cannot be trusted with a removal, or undefined. */
function untrusted(st: fs.Stats): string | undefined {
  const me = typeof process.geteuid === 'function' ? process.geteuid() : -1;
  const othersWrite = (st.mode & 0o022) !== 0 || (st.uid !== me && (st.mode & 0o200) !== 0);
  if (!othersWrite) return undefined;
  if ((st.mode & 0o1000) !== 0 && (st.uid === 0 || st.uid === me)) return undefined;
  return `its directory is writable by other users (mode ${(st.mode & 0o7777).toString(8)}, owner uid ${st.uid}) and not sticky`;
}

function same(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function lstat(at: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(at);
  } catch {
    return undefined;
  }
}

/**
 * Remove the socket file at `path` when nothing accepts on it (a crashed
 * run's leftover), checking and removing the same file.
 *
 * @internal
 */
export async function removeStaleSocketFile(path: string): Promise<StaleSocketResult> {
  const p = openParent(path);
  if (typeof p === 'string') return { state: 'refused', reason: p };
  try {
    const before = lstat(p.at);
    if (!before) return { state: 'absent' };
    if (!before.isSocket()) return { state: 'not-a-socket' };
    // connect(2) takes at most 107 bytes; probing by the original path instead could reach another file.
    if (Buffer.byteLength(p.at) > 107) return { state: 'refused', reason: 'its name is too long to probe through its directory' };
    const probe = await probeUnixSocket(p.at);
    if (probe === 'gone') return { state: 'absent' };
    if (probe === 'live') return { state: 'live' };
    const now = lstat(p.at);
    if (!now || !same(before, now)) return { state: 'refused', reason: 'it was replaced while it was checked' };
    fs.unlinkSync(p.at);
    return { state: 'removed' };
  } catch (err) {
    return { state: 'refused', reason: (err as NodeJS.ErrnoException).code ?? String(err) };
  } finally {
    fs.closeSync(p.fd);
  }
}

/**
 * Remove the socket file at `path` only if it is still the inode `created`
 * (the one this process bound); synchronous, for an exit path.
 *
 * @returns whether it was removed
 * @internal
 */
export function removeOwnSocketFile(path: string, created: { dev: number; ino: number }): boolean {
  const p = openParent(path);
  if (typeof p === 'string') return false;
  try {
    const st = lstat(p.at);
    if (!st || st.dev !== created.dev || st.ino !== created.ino) return false;
    fs.unlinkSync(p.at);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(p.fd);
  }
}

/**
 * Remove a unix socket file that nothing accepts on any more (a crashed run's
 * leftover): it is removed only when it is a socket and connecting to it is
 * refused (`ECONNREFUSED`). A live socket, a non-socket file, a missing path
 * or an abstract name (`@x`) are left alone. Safe as root: the check and the
 * removal go through the same open parent directory, and a parent other users
 * may write is refused unless it is sticky and owned by root or this user
 * (`/tmp` is fine).
 *
 * Two instances racing to start on the same path can both see it stale; only
 * one of them then keeps its socket reachable. Run one instance per path.
 *
 * @returns whether a stale file was removed.
 * @see unix(7)
 * @example
 * ```ts
 * await removeStaleSocket('/run/app/admin.sock');
 * server.listen({ path: '/run/app/admin.sock' });
 * ```
 */
export async function removeStaleSocket(path: string): Promise<boolean> {
  if (typeof path !== 'string' || path === '' || path.startsWith('@') || path.startsWith('\0')) return false;
  return (await removeStaleSocketFile(path)).state === 'removed';
}
