// SPDX-License-Identifier: MIT
/**
 * The command's private notify socket: a datagram socket in a fresh
 * temporary directory, whose path each child gets as NOTIFY_SOCKET. Every
 * datagram is handed on with its sender's pid and the fds it carried;
 * {@link NotifySocket.drain} waits until those queued so far have been.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../binding';
import { CliError } from './types';

/** What the socket hands on: the datagram's text, the sender's pid, the fds it carried. @internal */
export type NotifyHandler = (text: string, pid: number, fds: number[]) => void;

/** How long {@link NotifySocket.drain} waits for its marker at most. */
const DRAIN_TIMEOUT_MS = 2000;

/** The command's NOTIFY_SOCKET receiver. @internal */
export class NotifySocket {
  /** The socket's path, for the children's NOTIFY_SOCKET. */
  readonly path: string;
  private dir: string;
  private receiver: { close(): void } | undefined;
  private readonly drains = new Map<string, () => void>();
  private drainSeq = 0;

  /**
   * Create the socket and start receiving.
   *
   * @param onMessage - called for every datagram except drain markers
   * @throws {@link CliError} (status 1) when the socket cannot be created
   */
  constructor(onMessage: NotifyHandler) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-activate-'));
    this.path = path.join(this.dir, 'notify');
    try {
      this.receiver = new (native().NotifyReceiver)(this.path, (text, pid, fds) => {
        const drained = pid === process.pid ? this.drains.get(text) : undefined;
        if (drained) {
          this.drains.delete(text);
          drained();
          return;
        }
        onMessage(text, pid, fds);
      });
    } catch (err) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      throw new CliError(1, `cannot create the notify socket ${this.path}: ${(err as Error).message}`);
    }
  }

  /**
   * Resolve once every datagram queued on the socket so far has been
   * handled: a marker sent to ourselves comes back after them (one queue,
   * in order). Resolves at once when closed or when the marker cannot be
   * sent, and after 2 s at the latest.
   */
  drain(): Promise<void> {
    if (!this.receiver) return Promise.resolve();
    const token = `X_SD_ACTIVATE_DRAIN=${++this.drainSeq}`;
    // Sent to this socket by address: NOTIFY_SOCKET (the command's own manager's) is left alone.
    const sent = native().notify(0, token, [], this.path);
    if (sent <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.drains.delete(token); resolve(); }, DRAIN_TIMEOUT_MS);
      this.drains.set(token, () => { clearTimeout(timer); resolve(); });
    });
  }

  /** Stop receiving and remove the socket's directory. */
  close(): void {
    this.receiver?.close();
    this.receiver = undefined;
    if (this.dir !== '') fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
