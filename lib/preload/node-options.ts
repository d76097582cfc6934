// SPDX-License-Identifier: MIT
/**
 * The preload in `NODE_OPTIONS`, both ways: the `sd-activate` command puts it
 * first for a node command; once a process is the server, it takes itself out
 * so its child processes (a build step, a worker pool, `npm` run from the app)
 * do not load sd-activate/register as if they were the service.
 *
 * @internal
 */
import * as path from 'node:path';
import { packageDir } from '../slot';

/** Split `NODE_OPTIONS` the way Node does: on spaces, with `"..."` quoting and `\` escapes inside quotes. */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
    } else if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (ch === ' ' && !quoted) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
    }
  }
  if (has || cur !== '') out.push(cur);
  return out;
}

/** One argument as Node reads it back from `NODE_OPTIONS`. */
function quote(arg: string): string {
  return /[\s"\\]/.test(arg) || arg === '' ? `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"` : arg;
}

/** This copy's preload entry file (absolute: it resolves from any directory and from npx's cache). */
export const REGISTER_FILE = path.join(packageDir, 'dist', 'register.js');

/** `NODE_OPTIONS` with the preload first (`--require "<REGISTER_FILE>"`), then what was there. */
export function withPreloadFirst(nodeOptions: string | undefined): string {
  const flag = `--require ${quote(REGISTER_FILE)}`;
  return nodeOptions ? `${flag} ${nodeOptions}` : flag;
}

/** Whether a `--require` / `--import` value names sd-activate/register (the package specifier, or a path to its file). */
export function isPreloadSpecifier(value: string): boolean {
  if (value === 'sd-activate/register') return true;
  let v = value;
  if (v.startsWith('file://')) {
    try {
      v = new URL(v).pathname;
    } catch {
      return false;
    }
  }
  if (path.resolve(v) === REGISTER_FILE) return true;
  return /(^|\/)node_modules\/sd-activate\/(dist\/)?register(\.m?js)?$/.test(v);
}

const FLAGS = new Set(['--require', '-r', '--import']);

/**
 * `NODE_OPTIONS` with every `--require` / `-r` / `--import` of the preload
 * removed, the other options kept as written (requoted where needed).
 */
export function withoutPreload(nodeOptions: string): string {
  const args = splitNodeOptions(nodeOptions);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    if (eq > 0 && FLAGS.has(a.slice(0, eq)) && isPreloadSpecifier(a.slice(eq + 1))) continue;
    if (FLAGS.has(a) && i + 1 < args.length && isPreloadSpecifier(args[i + 1]!)) {
      i++;
      continue;
    }
    kept.push(a);
  }
  return kept.map(quote).join(' ');
}
