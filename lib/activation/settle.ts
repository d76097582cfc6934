// SPDX-License-Identifier: MIT
/**
 * The settle phase of activation: close every rejected inherited socket and
 * say why (a coded warning naming the fd, the socket and the reason), warn
 * about `fdname` listeners that got nothing, and describe what was adopted.
 * The one phase that changes fds.
 *
 * @internal
 */
import fs = require('node:fs');
import type { RawSocketInfo } from '../binding';
import type { Inspection } from './inspect';
import type { Listener } from './listeners';
import type { Adoption, MatchResult, Rejection, RejectReason } from './match';
import { stderrIsJournal, stderrLogger, type Logger } from '../journal';
import { closeFd, formatSocket, type SocketDescription } from '../sockets';
import { emit, warning, warningText, type Warning, type WarningCode } from '../warnings';

/** An inherited socket a listener adopted. */
export interface AdoptedSocket {
  fd: number;
  /** Its LISTEN_FDNAMES name (`unknown` when unnamed). */
  fdname: string;
  /** The listener that adopted it. */
  listener: string;
  /** How it matched: the bind entry (`127.0.0.1`, `*`, `(any)`), `path`, or `fdname`. */
  via: string;
  /** The socket in words, e.g. `tcp 127.0.0.1:8080 (listening)`. */
  socket: string;
  description: SocketDescription;
}

/** An inherited fd no listener adopted. */
export interface RejectedSocket {
  fd: number;
  fdname: string;
  /** The fd in words (`tcp 0.0.0.0:8080 (listening)`, `regular file`, `fifo`). */
  socket: string;
  reason: RejectReason;
  /** Why, in words. */
  detail: string;
  /** Whether sd-activate closed it (rejected sockets are closed; non-sockets are left alone). */
  closed: boolean;
  description?: SocketDescription;
}

/** What the settle phase did. @internal */
export interface Settlement {
  rejected: RejectedSocket[];
  /** The inspection's warnings, then the rejections', then the missing names'. */
  warnings: Warning[];
}

const HINTS: Record<RejectReason, string> = {
  'unreadable': '',
  'not-a-socket': '',
  'unsupported': ' Pass it in another way, or remove it from the .socket unit.',
  'not-listening': ' Use Accept=no (the default) in the .socket unit.',
  'kind-mismatch': ' Use ListenStream= for stream listeners and ListenDatagram= for datagram listeners.',
  'address-not-allowed': ' A .socket unit cannot widen what the app exposes: make its Listen*= address match the listener\'s bind, or widen bind.',
  'no-listener': ' Configure a listener for it, or remove it from the .socket unit.',
};

/**
 * Why an adopted unix socket's path no longer leads to it, or undefined when
 * it may: the path is gone, or holds something other than a socket. A socket
 * file there might be another socket; telling that apart would need a
 * connection, which would land in the app's own queue, so it is not probed.
 */
function pathGone(d: RawSocketInfo): string | undefined {
  if (d.family !== 'unix' || !d.path.startsWith('/')) return undefined;
  try {
    const st = fs.lstatSync(d.path);
    return st.isSocket() ? undefined : `${d.path} is now ${st.isFile() ? 'a regular file' : st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link' : 'not a socket'}`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? `${d.path} no longer exists` : undefined;
  }
}

/** An adoption as reports show it. @internal */
export function adoptedSocket(a: Adoption): AdoptedSocket {
  return { fd: a.fd, fdname: a.name, listener: a.listener, via: a.via, socket: formatSocket(a.desc), description: { fd: a.fd, ...a.desc } };
}

/**
 * The `SD_ACTIVATE_REJECTED_FD` warning for rejection `r`: the fd, its name
 * and socket, why, what was done with it (`action`), and the hint for the reason.
 *
 * @internal
 */
export function rejectionWarning(r: Rejection, action: string): Warning {
  const socket = r.desc ? formatSocket(r.desc) : 'unreadable fd';
  const named = r.name !== 'unknown' ? ` named ${JSON.stringify(r.name)}` : '';
  return warning('SD_ACTIVATE_REJECTED_FD', `rejected inherited fd ${r.fd}${named} (${socket}): ${r.detail}; ${action}.${HINTS[r.reason]}`,
    { fd: r.fd, socket, reason: r.reason });
}

/**
 * Close a rejected socket (an fd that is not a socket is left alone).
 *
 * @returns whether it was closed, and what was done in words for its warning
 * @internal
 */
export function closeRejected(r: Rejection): { closed: boolean; action: string } {
  if (!r.desc || r.desc.fileType !== 'socket') return { closed: false, action: 'left it open (not a socket sd-activate owns)' };
  try {
    closeFd(r.fd);
    return { closed: true, action: 'closed it' };
  } catch (err) {
    return { closed: false, action: `could not close it (closing it failed: ${(err as { code?: string }).code ?? String(err)})` };
  }
}

/**
 * Close each rejected socket (fds that are not sockets are left open) and
 * build the warnings: one per rejected fd, one per `fdname` listener that
 * got nothing and has nothing to bind instead.
 *
 * @internal
 */
export function settle(found: Inspection, result: MatchResult, listeners: readonly Listener[]): Settlement {
  const warnings = [...found.warnings];
  const rejected: RejectedSocket[] = [];
  for (const r of result.rejected) {
    const socket = r.desc ? formatSocket(r.desc) : 'unreadable fd';
    const { closed, action } = closeRejected(r);
    rejected.push({ fd: r.fd, fdname: r.name, socket, reason: r.reason, detail: r.detail, closed,
      ...(r.desc ? { description: { fd: r.fd, ...r.desc } } : {}) });
    warnings.push(rejectionWarning(r, action));
  }
  for (const a of result.adopted) {
    const gone = pathGone(a.desc);
    if (gone) {
      warnings.push(warning('SD_ACTIVATE_SOCKET_PATH_GONE', `adopted inherited fd ${a.fd} (${formatSocket(a.desc, { state: false })}) for listener ` +
        `${JSON.stringify(a.listener)}, but ${gone}: clients cannot reach it by that path. It is served anyway (connections ` +
        'already queued, and clients holding another way in); restart the .socket unit to recreate the file.'));
    }
  }
  if (found.environment === 'inherited') {
    const names = [...new Set(found.candidates.map((f) => f.name))].map((n) => JSON.stringify(n)).join(', ');
    for (const l of listeners) {
      if (l.match !== 'fdname' || l.port !== undefined || l.path !== undefined) continue;
      if (result.adopted.some((a) => a.listener === l.name)) continue;
      warnings.push(warning('SD_ACTIVATE_MISSING_FDNAME', `listener ${JSON.stringify(l.name)} asks for fdname ${JSON.stringify(l.fdname)}, but no ` +
        `${l.kind} socket of that name was passed (names: ${names}) and it has no port or path to bind instead, ` +
        'so it will not listen. Check FileDescriptorName= in the .socket unit, or give the listener a port.'));
    }
  }
  return { rejected, warnings };
}

/**
 * The operator channel of one activation: coded warnings to `onWarning` (else
 * `process.emitWarning`), info lines to the logger. When sd-activate's own
 * stderr logger writes to the journal and the app routes no warnings itself,
 * each warning is also written at warning priority (`<4>`), because Node's
 * own warning line reaches the journal at info priority.
 *
 * @internal
 */
export class Log {
  readonly #onWarning: ((w: Warning) => void) | undefined;
  readonly #logger: Logger | null;
  readonly #journalWarnings: boolean;

  /**
   * @param onWarning - the app's warning sink, if any
   * @param logger - the info-line sink, or null for none
   */
  constructor(onWarning: ((w: Warning) => void) | undefined, logger: Logger | null) {
    this.#onWarning = onWarning;
    this.#logger = logger;
    this.#journalWarnings = logger === stderrLogger && onWarning === undefined && stderrIsJournal();
  }

  /** Emit one coded warning. */
  warn(code: WarningCode, text: string, extra: Omit<Warning, 'code' | 'message'> = {}): void {
    this.emit(warning(code, text, extra));
  }

  /** Emit a built warning. */
  emit(w: Warning): void {
    emit(w, this.#onWarning);
    if (this.#journalWarnings) stderrLogger.warn(w.message);
    else if (this.#logger && this.#logger !== stderrLogger) this.#logger.warn(w.message);
  }

  /** Write info lines (each prefixed `sd-activate: `), when there is a logger; to stderr in one write. */
  info(...texts: string[]): void {
    if (!this.#logger || texts.length === 0) return;
    const lines = texts.map(warningText);
    if (this.#logger === stderrLogger) stderrLogger.info(lines.join('\n'));
    else for (const l of lines) this.#logger.info(l);
  }
}

/**
 * The logger an activation writes its info lines to: the one given, none for
 * `false`, and by default stderr only when sockets were passed to this process.
 *
 * @internal
 */
export function chooseLogger(option: Logger | false | undefined, inherited: boolean): Logger | null {
  if (option === false) return null;
  if (option !== undefined) return option;
  return inherited ? stderrLogger : null;
}

/** Emit the settled warnings, in order, then the info lines: each adopted socket, each listener binding itself. @internal */
export function announce(s: Settlement, log: Log, adopted: readonly Adoption[], selfBound: ReadonlyArray<{ listener: string; what: string }>): void {
  for (const w of s.warnings) log.emit(w);
  log.info(
    ...[...adopted].sort((x, y) => x.fd - y.fd).map((a) => {
      const named = a.name !== 'unknown' ? ` named ${JSON.stringify(a.name)}` : '';
      return `listener ${JSON.stringify(a.listener)}: adopted inherited fd ${a.fd}${named} (${formatSocket(a.desc, { state: false })}, via ${a.via})`;
    }),
    ...selfBound.map((b) => `listener ${JSON.stringify(b.listener)}: binds ${b.what} itself (no inherited socket for it)`),
  );
}
