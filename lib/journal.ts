// SPDX-License-Identifier: MIT
/**
 * The operator's view: plain log lines on stderr, so that `journalctl -u app`
 * shows what activation did. When stderr is the journal (`JOURNAL_STREAM`
 * names it), each line starts with its sd-daemon(3) priority, `<6>` info or
 * `<4>` warning, so `journalctl -p warning` shows what went wrong.
 *
 * @internal
 */
import fs = require('node:fs');
import { loadedNative } from './binding';
import { fileId } from './sockets';

/**
 * Where sd-activate writes its log lines: any object with `info` and `warn`
 * methods taking one plain string, as `console`, pino and winston loggers
 * are.
 */
export interface Logger {
  info(line: string): void;
  warn(line: string): void;
}

let journalCache: boolean | undefined;

/** Whether fd 2 is the journal stream named by `JOURNAL_STREAM` (`<dev>:<inode>`). @internal */
export function stderrIsJournal(): boolean {
  if (journalCache === undefined) {
    journalCache = false;
    // <dev>:<inode> in decimal, compared as numbers (without a regular
    // expression, which V8 would compile on this first use); fd 2 closed: not the journal.
    const [dev, ino, more] = (process.env.JOURNAL_STREAM ?? '').split(':');
    const decimal = (x: string | undefined): x is string => x !== undefined && x !== '' && [...x].every((c) => c >= '0' && c <= '9');
    if (more === undefined && decimal(dev) && decimal(ino)) journalCache = fileId(2) === `${BigInt(dev)}:${BigInt(ino)}`;
  }
  return journalCache;
}

/** Write `text` (one line or several) to stderr, each line with `priority` when stderr is the journal. */
function line(priority: string, text: string): void {
  const p = stderrIsJournal() ? priority : '';
  const out = `${p}${text.split('\n').join(`\n${p}`)}\n`;
  // Synchronous, so a line written just before process.exit() is not lost:
  // through the addon when it is loaded (Node's fs.writeSync cost 0.15 ms on
  // its first call, and loses a line on a full non-blocking stderr).
  const n = loadedNative();
  if (n !== undefined) {
    n.writeText(2, out); // a failure: stderr closed, nowhere to log
    return;
  }
  try {
    fs.writeSync(2, out);
  } catch {
    // stderr closed: nowhere to log
  }
}

/** The default logger: stderr, with journal priorities when stderr is the journal. @internal */
export const stderrLogger: Logger = {
  info: (text) => line('<6>', text),
  warn: (text) => line('<4>', text),
};
