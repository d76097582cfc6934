// SPDX-License-Identifier: MIT
/**
 * The errno numbers sd-activate names, from one table: Node's own
 * `os.constants.errno` for the platform it runs on, negated the way the
 * native layer and Node's system errors report them (`-ENOSYS`).
 *
 * @internal
 */
import { constants } from 'node:os';

const E = constants.errno;

/** Negative errno values by name (`errno.ENOSYS === -38` on Linux). @internal */
export const errno = {
  EADDRNOTAVAIL: -E.EADDRNOTAVAIL,
  EAFNOSUPPORT: -E.EAFNOSUPPORT,
  EINVAL: -E.EINVAL,
  ENOSYS: -E.ENOSYS,
} as const;
