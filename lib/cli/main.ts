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
import { REGISTER_FILE } from '../preload/node-options';
import { checkCommand, runsNode } from './process';
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
  let pidFile: { path: string; dev: number; ino: number } | undefined;
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
    const file = checkCommand(options.command[0] as string);
    sockets = await bindSockets(options.listen, options.names, options.backlog);
    sockets.forEach((s, k) => {
      const where = options.accept ? '(accepting connections)' : `as fd ${3 + k} (name ${s.name})`;
      log.info(`listening on ${s.label} ${where}`);
    });
    if (options.preload && !options.accept && runsNode(file)) {
      options.preloadFile = REGISTER_FILE;
      log.info(`adding the zero-code preload to ${options.command[0]}'s NODE_OPTIONS (--require ${REGISTER_FILE}; --no-preload turns it off)`);
    }
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
function writePidFile(file: string): { path: string; dev: number; ino: number } {
  const C = fs.constants;
  try {
    // A new file only (O_EXCL: no link, FIFO or other file is opened); a leftover
    // regular file of this user with one link is replaced.
    let fd: number;
    try {
      fd = fs.openSync(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = fs.lstatSync(file);
      const me = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
      if (!st.isFile() || st.nlink !== 1 || st.uid !== me) throw new Error('something other than a pid file of this user is there (not replaced)');
      fs.unlinkSync(file);
      fd = fs.openSync(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
    }
    try {
      fs.writeSync(fd, `${process.pid}\n`);
      const st = fs.fstatSync(fd);
      return { path: file, dev: st.dev, ino: st.ino };
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CliError(1, `cannot write the pid file ${file}: ${(err as Error).message}`);
  }
}

/** Remove the pid file, if it is still the file this process wrote. */
function removePidFile(file: { path: string; dev: number; ino: number }): void {
  try {
    const st = fs.lstatSync(file.path);
    if (st.dev === file.dev && st.ino === file.ino) fs.unlinkSync(file.path);
  } catch {
    // gone already
  }
}
