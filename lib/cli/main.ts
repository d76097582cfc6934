// SPDX-License-Identifier: MIT
/**
 * The `sd-activate` command's main: parse the command line, check it, bind
 * the sockets, run the mode (restart or `--accept`), and map every failure to
 * its one-line message and exit status. The executable is `dist/cli.js`
 * (lib/cli.ts), which only calls this.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, usage } from './args';
import { Acceptor } from './accept';
import { checkCommand } from './process';
import { bindSockets, releaseSockets } from './sockets';
import { Supervisor } from './supervisor';
import { CliError, UsageError, type BoundSocket, type CliLog } from './types';
import { checkWatchPaths } from './watch';

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
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
  let pidFile: string | undefined;
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
    if (process.platform !== 'linux') {
      // Sockets are passed the way systemd passes them, which needs the Linux addon.
      throw new CliError(1, `runs on Linux only (this is ${process.platform}); systemd socket activation and ` +
        'notify do not exist here. Run the app directly, or under sd-activate on a Linux host.');
    }
    const options = parsed.options;
    quiet = options.quiet;
    checkWatchPaths(options.watch);
    checkCommand(options.command[0] as string);
    sockets = await bindSockets(options.listen, options.names, options.backlog);
    sockets.forEach((s, k) => {
      const where = options.accept ? '(accepting connections)' : `as fd ${3 + k} (name ${s.name})`;
      log.info(`listening on ${s.label} ${where}`);
    });
    const runner = options.accept ? new Acceptor(sockets, options, log) : new Supervisor(sockets, options, log);
    if (options.pidFile !== undefined) pidFile = writePidFile(options.pidFile);
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
    if (pidFile !== undefined) removePidFile(pidFile);
  }
}

/**
 * Write this process's pid to `file`, without following a symbolic link
 * there (the command may run as root); a file left by a crashed run is
 * replaced.
 *
 * @throws {@link CliError} (status 1) when it cannot be written
 */
function writePidFile(file: string): string {
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
    try {
      fs.writeSync(fd, `${process.pid}\n`);
    } finally {
      fs.closeSync(fd);
    }
    return file;
  } catch (err) {
    throw new CliError(1, `cannot write the pid file ${file}: ${(err as Error).message}`);
  }
}

/** Remove the pid file, if it still holds this process's pid. */
function removePidFile(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
  } catch {
    // gone already
  }
}
