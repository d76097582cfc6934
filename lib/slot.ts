// SPDX-License-Identifier: MIT
/**
 * The one piece of process-global state: a slot on `globalThis` under
 * `Symbol.for('sd-activate')`, so that every copy of the package loaded into
 * one process (two installed versions, the preload from one path and the app's
 * `require('sd-activate')` from another) agrees on who owns the inherited
 * sockets and where the hidden `NOTIFY_SOCKET` went.
 *
 * The slot's shape is a protocol between copies (version 1): plain fields
 * only, never an instance of one copy's classes.
 *
 * @internal
 */
import path = require('node:path');

/** The process-global slot (protocol version 1). @internal */
export interface ProcessSlot {
  protocol: 1;
  /** The copy that owns the inherited sockets: its package directory and version. */
  owner?: { dir: string; version: string; role: 'activate' | 'preload' };
  /**
   * The owner's `activate()`, which another copy's `activate()` calls instead
   * of consuming the environment itself. Its options and result are the
   * public API of that version.
   */
  activate?: (config: unknown, options?: unknown) => unknown;
  /** `NOTIFY_SOCKET`, when the preload took it out of the environment (children must not inherit it). */
  notifySocket?: string;
  /** The inodes of the sockets this process inherited (LISTEN_FDS), for the idle exit's check. */
  inherited?: number[];
  /** Set while a `lifecycle()` handles SIGTERM and exits once stopped: the preload's graceful stop leaves the exit to it. */
  lifecycleExits?: boolean;
}

const KEY = Symbol.for('sd-activate');

/** This copy's package directory (the one holding package.json). @internal */
export const packageDir = path.resolve(__dirname, '..');

let versionCache: string | undefined;
/** This copy's version, from its package.json. @internal */
export function packageVersion(): string {
  if (versionCache === undefined) {
    try {
      versionCache = String((require(path.join(packageDir, 'package.json')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      versionCache = 'unknown';
    }
  }
  return versionCache;
}

/** The slot, created on first use. @internal */
export function slot(): ProcessSlot {
  const g = globalThis as unknown as Record<symbol, ProcessSlot | undefined>;
  let s = g[KEY];
  if (s === undefined || s === null || typeof s !== 'object' || s.protocol !== 1) {
    s = { protocol: 1 };
    Object.defineProperty(globalThis, KEY, { value: s, enumerable: false, configurable: true, writable: true });
  }
  return s;
}

/**
 * Take ownership of the inherited sockets for this copy, or learn who has it.
 *
 * @returns `'mine'` when this copy owns them (now or before), else the other owner
 */
export function takeOwnership(role: 'activate' | 'preload', activate: ProcessSlot['activate']): 'mine' | NonNullable<ProcessSlot['owner']> {
  const s = slot();
  if (s.owner === undefined) {
    // The version is read (package.json) only when another copy asks.
    s.owner = { dir: packageDir, get version() { return packageVersion(); }, role };
    s.activate = activate;
    return 'mine';
  }
  return s.owner.dir === packageDir ? 'mine' : s.owner;
}

/** The address notify messages go to: `NOTIFY_SOCKET`, else the one the preload hid (hot path: no env read when hidden). @internal */
export function hiddenNotifySocket(): string | undefined {
  const g = globalThis as unknown as Record<symbol, ProcessSlot | undefined>;
  return g[KEY]?.notifySocket;
}
