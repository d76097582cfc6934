// SPDX-License-Identifier: MIT
/**
 * Installing the zero-code preload: once per process, by the copy of
 * sd-activate that owns the inherited sockets. A second copy (another
 * installed version) steps aside with a warning; loading the preload twice
 * (`--require` and `--import`) installs it once.
 *
 * The one place sd-activate replaces a Node function: `net.Server.prototype.listen`,
 * which every http, https, http2 and tls server (and every framework on them) calls.
 *
 * @internal
 */
import * as net from 'node:net';
import { activate } from '../activation/activate';
import { packageDir, packageVersion, takeOwnership } from '../slot';
import { warn } from '../warnings';
import { readConfig } from './config';
import { PreloadSession } from './session';

let session: PreloadSession | undefined;

/** Start the preload in this process (idempotent). @internal */
export function startPreload(): void {
  if (session) return;
  const owner = takeOwnership('preload', activate as (config: unknown, options?: unknown) => unknown);
  if (owner !== 'mine') {
    warn('SD_ACTIVATE_SECOND_COPY', `sd-activate/register from ${packageDir} (${packageVersion()}) steps aside: ${owner.dir} ` +
      `(${owner.version}) already owns this process's sockets (through ${owner.role === 'preload' ? 'its preload' : 'activate()'}); ` +
      'its listen() calls are not hooked twice. Load the preload from one copy (npm dedupe).');
    return;
  }
  const { config, problems } = readConfig(process.env);
  for (const p of problems) warn('SD_ACTIVATE_PRELOAD_CONFIG', p);
  const listen = net.Server.prototype.listen as (this: net.Server, ...args: unknown[]) => net.Server;
  session = new PreloadSession(config, listen);
  session.start();
  const own = session;
  // A named function, so stack traces still read "Server.listen".
  net.Server.prototype.listen = function listen(this: net.Server, ...args: unknown[]): net.Server {
    return own.listenHook(this, args);
  } as typeof net.Server.prototype.listen;
}
