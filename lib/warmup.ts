// SPDX-License-Identifier: MIT
/**
 * The warm-up an overlapped restart asks for (`SD_ACTIVATE_WARMUP=1`, set by
 * `sd-activate --overlap` for its children): before an http server starts
 * accepting on an inherited socket, one request goes through a private http
 * server on an abstract unix socket, so Node's http code is compiled before
 * the first client's request, which a fresh process otherwise serves several
 * ms slower (measured in bench/README.md). Nothing of the app runs; a
 * failure (or 1 s) ends it quietly.
 *
 * @internal
 */

let warming: Promise<void> | undefined;

/** Whether `s` looks like an `http.Server` (or https): checked without loading `node:http`. */
export function isHttpServer(s: object): boolean {
  return typeof (s as { headersTimeout?: unknown }).headersTimeout === 'number';
}

/** Whether this process was asked to warm up. */
export function warmUpWanted(): boolean {
  return process.env.SD_ACTIVATE_WARMUP === '1';
}

/** One request through a private http server, once per process; resolves when done (never rejects). */
export function warmUp(): Promise<void> {
  warming ??= new Promise<void>((resolve) => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const http = require('node:http') as typeof import('node:http');
    const net = require('node:net') as typeof import('node:net');
    /* eslint-enable @typescript-eslint/no-require-imports */
    // Not guessable (abstract names have no permissions): another user cannot take it first.
    const where = `\0sd-activate-warmup-${process.pid}-${process.hrtime.bigint()}-${Math.random().toString(36).slice(2)}`;
    const server = http.createServer((_req, res) => res.end('ok'));
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      server.close();
      resolve();
    };
    const timer = setTimeout(finish, 1000);
    server.on('error', finish);
    server.listen(where, () => {
      const c = net.connect(where);
      c.on('connect', () => c.write('GET / HTTP/1.1\r\nHost: warm-up\r\nConnection: close\r\n\r\n'));
      c.on('data', () => {});
      c.on('end', finish);
      c.on('error', finish);
    });
  });
  return warming;
}
