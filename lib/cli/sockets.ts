// SPDX-License-Identifier: MIT
/**
 * The `sd-activate` command's sockets: bound once with the addon's
 * `openSocket` (exact control over the address, backlog and IPV6_V6ONLY, and
 * CLOEXEC so nothing but the child gets them), described for the
 * "listening on" lines, and released at exit (a unix socket file the command
 * bound is removed, if it is still the same file).
 *
 * @internal
 */
import * as fs from 'node:fs';
import { loadError, loadProblem, native, type RawSocketInfo } from '../binding';
import { errno } from '../errno';
import { errnoName } from '../errors';
import { removeOwnSocketFile, removeStaleSocketFile } from '../socket-file';
import { formatSocket } from '../sockets';
import { CliError, type BoundSocket, type ListenSpec } from './types';

/** The addon's results (`-errno`) meaning "no IPv6 here", after which a bare port binds IPv4. */
const NO_IPV6: number[] = [errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL];

function bindError(spec: ListenSpec, r: number): CliError {
  const { code, text } = errnoName(r);
  const where = spec.kind === 'tcp' || spec.kind === 'udp' ? spec.text : `${spec.kind} ${spec.address}`;
  let why = `${text} (${code})`;
  if (code === 'EADDRINUSE') why = `address already in use (EADDRINUSE): another process is listening there`;
  else if (code === 'EACCES' && spec.port > 0 && spec.port < 1024) why = `permission denied (EACCES): ports below 1024 need root or CAP_NET_BIND_SERVICE`;
  else if (code === 'EADDRNOTAVAIL') why = `address not available on this machine (EADDRNOTAVAIL)`;
  return new CliError(1, `cannot listen on ${where}: ${why}`);
}

/** Make room for a unix socket file: replace a stale socket, refuse anything else. */
async function prepareUnixPath(spec: ListenSpec): Promise<void> {
  const p = spec.address;
  const r = await removeStaleSocketFile(p);
  if (r.state === 'not-a-socket') {
    throw new CliError(1, `cannot listen on ${spec.kind} ${p}: the path exists and is not a socket (not removed)`);
  }
  if (r.state === 'live') {
    throw new CliError(1, `cannot listen on ${spec.kind} ${p}: address already in use (EADDRINUSE): another process is listening there`);
  }
  if (r.state === 'refused' && fs.existsSync(p)) {
    throw new CliError(1, `cannot listen on ${spec.kind} ${p}: a file is there and it is not removed: ${r.reason}`);
  }
}

function openOne(spec: ListenSpec, backlog: number): number {
  const stream = spec.kind === 'tcp' || spec.kind === 'unix' || spec.kind === 'seqpacket';
  const bl = stream ? backlog : -1;
  if ((spec.kind === 'tcp' || spec.kind === 'udp') && spec.address === '') {
    // A bare port, as systemd's ListenStream=PORT: IPv6 any-address with the
    // system's IPV6_V6ONLY default (dual-stack), IPv4 where IPv6 is missing.
    const fd = native().openSocket(spec.kind, '::', spec.port, bl, -1);
    if (!NO_IPV6.includes(fd)) return fd;
    return native().openSocket(spec.kind, '0.0.0.0', spec.port, bl, -1);
  }
  return native().openSocket(spec.kind, spec.address, spec.port, bl, -1);
}

/**
 * Bind every spec, in order. On any failure the sockets bound so far are
 * released and a {@link CliError} (status 1) names the address and the cause.
 */
export async function bindSockets(specs: ListenSpec[], names: string[], backlog: number): Promise<BoundSocket[]> {
  if (loadError() !== undefined) {
    throw new CliError(1, `the native addon did not load, so sockets cannot be bound: ${loadProblem()}`);
  }
  const bound: BoundSocket[] = [];
  try {
    for (let k = 0; k < specs.length; k++) {
      const spec = specs[k] as ListenSpec;
      const isPath = spec.kind !== 'tcp' && spec.kind !== 'udp' && !spec.address.startsWith('@');
      if (isPath) await prepareUnixPath(spec);
      const fd = openOne(spec, backlog);
      if (fd < 0) throw bindError(spec, fd);
      const d = native().describeSocket(fd);
      const info: RawSocketInfo = typeof d === 'number'
        ? { fileType: 'socket', family: '', type: '', listening: false, address: spec.address, port: spec.port, path: '', v6only: false }
        : d;
      const sock: BoundSocket = { fd, spec, name: names[k] ?? 'unknown', label: formatSocket(info, { state: false }), port: info.port };
      if (isPath) {
        try {
          const st = fs.statSync(spec.address);
          sock.file = { path: spec.address, dev: st.dev, ino: st.ino };
        } catch {
          // Bound but not visible (removed at once by someone): nothing to clean.
        }
      }
      bound.push(sock);
    }
  } catch (err) {
    releaseSockets(bound);
    throw err;
  }
  return bound;
}

/** Close the sockets and remove the socket files the command created (when still the same inode). */
export function releaseSockets(sockets: BoundSocket[]): void {
  for (const s of sockets.splice(0)) {
    if (s.fd >= 0) native().close(s.fd);
    if (s.file) removeOwnSocketFile(s.file.path, s.file);
  }
}
