// SPDX-License-Identifier: MIT
/**
 * The validators every public function uses, in one place. Each returns the
 * checked value or throws `ERR_SD_INVALID_ARGUMENT` naming what was wrong;
 * the native layer only checks types (see `binding.ts`).
 *
 * @internal
 */
import { invalid } from './errors';

/** A value for a message: numbers and bigints as written, strings quoted, the rest by type. */
export function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  return value === null ? 'null' : typeof value;
}

/** A safe integer >= `min` (default 0). @internal */
export function integer(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    invalid(`${what} must be an integer >= ${min} (got ${shown(value)})`);
  }
  return value;
}

/** An integer in `min..max` (a port, a backlog). @internal */
export function intInRange(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${what} must be an integer ${min}..${max} (got ${shown(value)})`);
  }
  return value;
}

/** A 32-bit signed integer fd; negative fds go through, so that sd-daemon answers EBADF. @internal */
export function fdArg(fd: unknown): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < -0x80000000 || fd > 0x7fffffff) {
    invalid(`fd must be an integer (got ${shown(fd)})`);
  }
  return fd;
}

/** Milliseconds (finite, >= 0, fractions allowed) as whole microseconds, in decimal. @internal */
export function msToUsec(ms: unknown, what: string): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms * 1000 > Number.MAX_SAFE_INTEGER) {
    invalid(`${what} must be a number of milliseconds >= 0 (got ${shown(ms)})`);
  }
  return String(Math.round(ms * 1000));
}

/** A non-null, non-array object (an options bag, a config). @internal */
export function object<T>(value: T, what: string): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(`${what} must be an object`);
  return value;
}

/**
 * The own enumerable properties of an options bag or config, in a copy with
 * no prototype: what `Object.prototype` carries (a polluted `bind`, say) is
 * never read as an option.
 *
 * @internal
 */
export function own<T extends object>(value: T, what: string): T {
  object(value, what);
  return Object.assign(Object.create(null) as T, value);
}

/** An optional function option. @internal */
export function optionalFunction(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== 'function') invalid(`${what} must be a function`);
}

/**
 * Whether `name` is a valid LISTEN_FDNAMES entry as systemd accepts it
 * (`fdname_is_valid`: `FileDescriptorName=`, `FDNAME=`): 1 to 255 printable
 * ASCII characters, no `:`.
 *
 * @internal
 */
export function isValidFdName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 255 && /^[\x20-\x39\x3b-\x7e]+$/.test(name);
}
