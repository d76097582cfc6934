#!/usr/bin/env node
// SPDX-License-Identifier: MIT
/**
 * `sd-activate`: bind sockets, hold them, and run a command with them as
 * systemd socket activation does, restarting it without refusing a single
 * connection (systemfd for Node). See `sd-activate --help`.
 *
 * ```sh
 * sd-activate -l 8080 --watch src -- node src/server.js
 * ```
 *
 * This file is the executable (`bin`: `dist/cli.js`, named by units and
 * scripts); the command itself lives in `lib/cli/`, one concern per file:
 *
 * - main: one run, from the command line to the exit status
 * - args: the command line and `--help`
 * - types: the types the other files share (errors, log, options, sockets)
 * - sockets: binding and releasing the held sockets
 * - process: spawning with LISTEN_PID = the child's pid, process groups
 * - holder: the signal and child skeleton both modes share
 * - supervisor: the restart mode (one child at a time, restarts, its notify messages)
 * - notify-socket: the private NOTIFY_SOCKET the children report to
 * - fdstore: the fds children store with FDSTORE=1 (`--fdstore`)
 * - accept: the `--accept` mode (one child per connection)
 * - watch: `--watch`
 *
 * @see sd_listen_fds(3)
 * @see systemd.socket(5)
 * @see systemd-socket-activate(1)
 * @packageDocumentation
 */
import { main } from './cli/main';

export { main };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (err: unknown) => {
      process.stderr.write(`sd-activate: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(70);
    },
  );
}
