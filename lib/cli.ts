#!/usr/bin/env node
/**
 * `sd-activate`: bind sockets, hold them, and run a command with them as
 * systemd socket activation does, restarting it without refusing a single
 * connection (systemfd for Node). See `sd-activate --help`.
 *
 * ```sh
 * sd-activate -l 8080 --watch src -- node src/server.js
 * ```
 *
 * The pieces: cli-args (the command line), cli-sockets (binding),
 * cli-process (spawning with LISTEN_PID = the child's pid, signals),
 * cli-supervisor (one child, restarts, notify), cli-accept (`--accept`),
 * cli-watch (`--watch`).
 *
 * @see sd_listen_fds(3)
 * @see systemd.socket(5)
 * @see systemd-socket-activate(1)
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, usage, UsageError } from './cli-args';
import { Acceptor } from './cli-accept';
import { checkCommand } from './cli-process';
import { bindSockets, CliError, releaseSockets, type BoundSocket } from './cli-sockets';
import { Supervisor, type CliLog } from './cli-supervisor';

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Run the command line `argv` (without `node` and the script) and resolve
 * with the exit status: the child's, 1 when a socket cannot be bound, 2 for
 * a bad command line, 126/127 when the command cannot be run.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['-l', '8080', '--', 'node', 'app.js']);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  let quiet = false;
  const log: CliLog = {
    info: (line) => { if (!quiet) process.stderr.write(`sd-activate: ${line}\n`); },
    error: (line) => { process.stderr.write(`sd-activate: ${line}\n`); },
  };
  let sockets: BoundSocket[] = [];
  try {
    const parsed = parseArgs(argv);
    if (parsed.action === 'help') {
      process.stdout.write(usage());
      return 0;
    }
    if (parsed.action === 'version') {
      process.stdout.write(`sd-activate ${version()}\n`);
      return 0;
    }
    const options = parsed.options;
    quiet = options.quiet;
    for (const w of options.watch) {
      if (!fs.existsSync(w)) throw new UsageError(`--watch ${w}: no such file or directory`);
    }
    checkCommand(options.command[0] as string);
    sockets = await bindSockets(options.listen, options.names, options.backlog);
    sockets.forEach((s, k) => {
      const where = options.accept ? '(accepting connections)' : `as fd ${3 + k} (name ${s.name})`;
      log.info(`listening on ${s.label} ${where}`);
    });
    const runner = options.accept ? new Acceptor(sockets, options, log) : new Supervisor(sockets, options, log);
    return await runner.run();
  } catch (err) {
    if (err instanceof UsageError) {
      log.error(`${err.message}\nTry 'sd-activate --help' for more information.`);
      return 2;
    }
    if (err instanceof CliError) {
      log.error(err.message);
      return err.status;
    }
    throw err;
  } finally {
    releaseSockets(sockets);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (err: unknown) => {
      process.stderr.write(`sd-activate: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(70);
    },
  );
}
