// SPDX-License-Identifier: MIT
/**
 * sd-activate: systemd socket activation and service-manager notifications
 * for Node.js servers. Importing has no side effects: nothing reads or
 * changes LISTEN_* / NOTIFY_SOCKET until the app asks.
 *
 * @packageDocumentation
 */
import { loadError as nativeLoadError, native, type BackendName } from './binding';

export type { BackendName } from './binding';

/**
 * Which implementation runs: `libsystemd` (linked, or loaded at run time),
 * `builtin` (the same protocols without libsystemd), or `unavailable` (the
 * addon could not load, e.g. not Linux: nothing is inherited and notify
 * returns false).
 */
export declare const backend: BackendName;
// A getter, so that importing the package loads no addon: it loads (and the
// addon chooses its backend) on first read. In the one form Node's ESM loader
// recognises as a named export of a CommonJS module.
const addon = { get backend(): BackendName { return native().backend; } };
Object.defineProperty(exports, 'backend', { enumerable: true, get: function () { return addon.backend; } });

/** Facts about the native layer, for diagnostics. */
export interface BackendInfo {
  /** See {@link backend}. */
  backend: BackendName;
  /** How libsystemd is reached: `linked`, `dlopen`, or `none`. */
  linkage: 'linked' | 'dlopen' | 'none';
  /** libsystemd version in use (e.g. `252`), or `''`. */
  libsystemdVersion: string;
  /** Path of the libsystemd shared object in use, or `''`. */
  libsystemdPath: string;
  /** Why the addon did not load (backend `unavailable`), else `undefined`. Never printed by sd-activate. */
  loadError: Error | undefined;
}

/**
 * Describe the native layer: backend, libsystemd version and path, load error.
 *
 * @example
 * ```ts
 * console.log(backendInfo()); // { backend: 'libsystemd', linkage: 'dlopen', libsystemdVersion: '252', ... }
 * ```
 */
export function backendInfo(): BackendInfo {
  const n = native();
  return {
    backend: n.backend,
    linkage: n.linkage,
    libsystemdVersion: n.libsystemdVersion,
    libsystemdPath: n.libsystemdPath,
    loadError: nativeLoadError(),
  };
}

export { EX_CONFIG, SdActivateError, type SdErrorCode, type SystemError } from './errors';
export type { Warning, WarningCode } from './warnings';
export {
  LISTEN_FDS_START,
  listenFds,
  isSocketInet,
  isSocketUnix,
  describeSocket,
  formatSocket,
  closeFd,
  booted,
  socketFd,
  type InheritedFd,
  type ListenFdsOptions,
  type InetSocketQuery,
  type UnixSocketQuery,
  type SocketDescription,
  type SocketType,
} from './sockets';
// activation exports (lib/activation/)
export {
  activate,
  Activation,
  type ActivateOptions,
  type ActivationWarning,
  type ActivationWarningCode,
  type ActivationEnvironment,
  type ActivationPlan,
  type ActivationReport,
  type ListenerReport,
  type AdoptedSocket,
  type RejectedSocket,
  type Listenable,
  type ListenerConfig,
  type ListenTarget,
  type StreamTarget,
  type TargetOf,
  type DatagramTarget,
  type RejectReason,
} from './activation/activate';
export { removeStaleSocket } from './socket-file';
// notify exports (lib/notify.ts, lib/watchdog.ts, lib/lifecycle.ts)
export {
  notify,
  ready,
  status,
  stopping,
  reloading,
  mainPid,
  errno,
  extendTimeout,
  barrier,
  monotonicUsec,
  type NotifyValue,
  type NotifyOptions,
} from './notify';
export {
  watchdogEnabled,
  watchdog,
  watchdogTrigger,
  watchdogTimeout,
  startWatchdog,
  Watchdog,
  type WatchdogInfo,
  type WatchdogOptions,
  type WatchdogSkip,
  type WatchdogSkipReason,
} from './watchdog';
export {
  storeFds,
  removeFds,
  storeListeners,
  type StorableSocket,
  type StoreFdsOptions,
  type StoredListener,
} from './fdstore';
export {
  lifecycle,
  type Lifecycle,
  type LifecycleOptions,
  type LifecycleServer,
  type LifecycleState,
} from './lifecycle';
// node:cluster (lib/cluster.ts)
export { forkWorker } from './cluster';
