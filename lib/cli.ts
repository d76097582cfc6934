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
 * scripts); the command itself lives in `lib/cli/`: main (the run), args (the
 * command line), sockets (binding), process (spawning with LISTEN_PID = the
 * child's pid, process groups), supervisor (one child, restarts, notify),
 * accept (`--accept`), watch (`--watch`).
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
