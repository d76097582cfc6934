// SPDX-License-Identifier: MIT
/**
 * The errno numbers sd-activate names, from one table: Node's own
 * `os.constants.errno` for the platform it runs on, negated the way the
 * native layer and Node's system errors report them (`-ENOSYS`). Read on
 * first use: the activation path needs none of them unless something fails,
 * and loading `node:os` was 0.2 ms of its start-up.
 *
 * @internal
 */

let table: Record<string, number> | undefined;

function negated(name: string): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  table ??= (require('node:os') as typeof import('node:os')).constants.errno as Record<string, number>;
  return -(table[name] as number);
}

/** Negative errno values by name (`errno.ENOSYS === -38` on Linux). @internal */
export const errno = {
  get EADDRNOTAVAIL(): number { return negated('EADDRNOTAVAIL'); },
  get EAFNOSUPPORT(): number { return negated('EAFNOSUPPORT'); },
  get EINVAL(): number { return negated('EINVAL'); },
  get ENOSYS(): number { return negated('ENOSYS'); },
} as const;
