// SPDX-License-Identifier: MIT
/**
 * The text of a notify datagram, both ways: {@link formatState} builds it
 * from fields (what the library sends), {@link parseState} reads it back into
 * fields (what the `sd-activate` command receives from its children). One
 * `NAME=value` per line, as `sd_notify(3)` describes the state string.
 *
 * @see sd_notify(3)
 * @internal
 */
import { invalid } from './errors';

/** A field value: strings are sent as they are, numbers and bigints in decimal. */
export type NotifyValue = string | number | bigint;

const FIELD_NAME_BAD = /[=\n\0]/;

/**
 * One field value as datagram text: strings as they are, numbers and bigints
 * in decimal.
 *
 * @param what - the value's name for the error message
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for a newline or
 *   NUL in a string, a non-finite number, or another type
 * @internal
 */
export function fieldValue(value: unknown, what: string): string {
  if (typeof value === 'string') {
    if (value.includes('\n')) invalid(`${what} must not contain a newline (got ${JSON.stringify(value)})`);
    if (value.includes('\0')) invalid(`${what} must not contain a NUL character`);
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) invalid(`${what} must be a finite number (got ${String(value)})`);
    return String(value);
  }
  return invalid(`${what} must be a string, number or bigint (got ${typeof value})`);
}

/**
 * Build the datagram text for `fields`, validating names and values.
 *
 * @param fields - `{ NAME: value, ... }` (sent in the object's order), or the
 *   raw text, which is checked only for being non-empty and NUL-free
 * @throws {@link SdActivateError} `ERR_SD_INVALID_ARGUMENT` for no fields, an
 *   empty name, a name containing `=`, a newline or NUL, or a bad value
 * @example
 * ```ts
 * formatState({ READY: 1, STATUS: 'up' }); // 'READY=1\nSTATUS=up'
 * ```
 * @internal
 */
export function formatState(fields: Record<string, NotifyValue> | string): string {
  if (typeof fields === 'string') {
    if (fields.length === 0) invalid('the notify state must not be empty');
    if (fields.includes('\0')) invalid('the notify state must not contain a NUL character');
    return fields;
  }
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    invalid('notify fields must be an object like { READY: 1 } or a string like "READY=1"');
  }
  const lines: string[] = [];
  for (const [name, v] of Object.entries(fields)) {
    if (name.length === 0) invalid('a notify field name must not be empty');
    if (FIELD_NAME_BAD.test(name)) invalid(`notify field name ${JSON.stringify(name)} must not contain "=", a newline or NUL`);
    lines.push(`${name}=${fieldValue(v, `the value of ${name}`)}`);
  }
  if (lines.length === 0) invalid('notify needs at least one field');
  return lines.join('\n');
}

/**
 * Read a received datagram's text into its fields. Never throws: a line
 * without a `NAME=` is skipped, and a name given twice keeps its last value.
 *
 * @example
 * ```ts
 * parseState('READY=1\nSTATUS=up').get('STATUS'); // 'up'
 * ```
 * @internal
 */
export function parseState(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}
