// SPDX-License-Identifier: MIT
/**
 * `--watch PATH`: file changes that restart the command, debounced. A
 * directory is watched recursively (node_modules and .git ignored); a file is
 * watched through its directory, so editors that save by renaming a new file
 * over the old one are seen too.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './types';

const IGNORED = /(^|[\\/])(node_modules|\.git)([\\/]|$)/;

/** A set of watchers; `close()` stops them all. @internal */
export interface Watch {
  close(): void;
}

/** What `p` is, or a {@link UsageError} saying it does not exist. */
function statWatched(p: string): fs.Stats {
  try {
    return fs.statSync(p);
  } catch {
    throw new UsageError(`--watch ${p}: no such file or directory`);
  }
}

/**
 * Check that every `--watch` path exists, before anything is bound or started.
 *
 * @throws {@link UsageError} naming the first path that does not exist
 */
export function checkWatchPaths(paths: readonly string[]): void {
  for (const p of paths) statWatched(p);
}

/**
 * Watch `paths`; after `debounceMs` without further changes, call
 * `onChange` with the first changed path and how many others changed.
 *
 * @throws {@link UsageError} when a path does not exist
 */
export function watchPaths(paths: string[], debounceMs: number, onChange: (first: string, more: number) => void): Watch {
  const watchers: fs.FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let changed = new Set<string>();
  const hit = (file: string): void => {
    changed.add(file);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const list = [...changed];
      changed = new Set();
      onChange(list[0] as string, list.length - 1);
    }, debounceMs);
  };
  try {
    for (const p of paths) {
      if (statWatched(p).isDirectory()) {
        watchers.push(fs.watch(p, { recursive: true, persistent: true }, (_event, filename) => {
          const name = filename ? String(filename) : '';
          if (name !== '' && IGNORED.test(name)) return;
          hit(name === '' ? p : path.join(p, name));
        }));
      } else {
        const dir = path.dirname(p);
        const base = path.basename(p);
        watchers.push(fs.watch(dir, { persistent: true }, (_event, filename) => {
          if (filename !== null && String(filename) === base) hit(p);
        }));
      }
    }
  } catch (err) {
    for (const w of watchers) w.close();
    throw err;
  }
  for (const w of watchers) w.on('error', () => { /* a watched directory went away: keep the others */ });
  return {
    close(): void {
      if (timer) clearTimeout(timer);
      for (const w of watchers.splice(0)) w.close();
    },
  };
}
