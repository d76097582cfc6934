// SPDX-License-Identifier: MIT
/**
 * The loader behind the package's two entries. `dist/index.js` and
 * `dist/register.js` are each this file and lib/addon.ts bundled with one
 * line asking for their entry (one file for Node to load, not three); it runs
 * one file, `dist/bundle.js` (every module of `dist/`, bundled by
 * `scripts/build-ts.js`), once per process, so both entries share one
 * instance of every module. The bundle is compiled with V8's code cache when
 * one was made for this V8 and this build of the bundle
 * (`dist/cache/<build id>-<entry>-<V8 version>-<arch>.bin`, written by
 * `scripts/code-cache.js` at build and install time, never at run time): the
 * bytecode of the functions the activation path runs is then deserialized
 * instead of compiled on first call, which Node 20 cannot cache itself. There
 * is one cache per entry, chosen by the entry that loads the bundle: the
 * preload's path runs 36 KB of bytecode an app calling activate() never
 * runs, and V8 deserializes all of a cache, used or not. A cache V8 rejects
 * (other flags) is ignored: the bundle compiles from source.
 *
 * @internal
 */
import fs = require('node:fs');
import path = require('node:path');
import vm = require('node:vm');
import { createRequire } from 'node:module';
import { loadAddon } from './addon';

/** What the bundle's module exports: its two entries, each run on its first call. */
interface Entries {
  main(): unknown;
  register(): unknown;
}

/** The `module` the bundle runs with; `ran` lists the bundled modules run so far (tests read it). */
interface BundleModule {
  exports: Entries;
  ran: string[];
}

/** The bundle's first line names its build: `// sd-activate bundle <id>`. */
export const BUILD_PREFIX = '// sd-activate bundle ';

/** The bundled modules, built by `scripts/build-ts.js`. */
export const BUNDLE = path.join(__dirname, 'bundle.js');

/** The bundle's entries: `main` (`dist/index.js`), `register` (`dist/register.js`, the preload). */
export type EntryName = keyof Entries;

/**
 * Where the code cache of a build of the bundle lives, for the entry that
 * loads it first and one V8 and architecture.
 */
export function cacheFile(build: string, first: EntryName = 'main', v8 = process.versions.v8, arch = process.arch): string {
  return path.join(__dirname, 'cache', `${build}-${first}-${v8}-${arch}.bin`);
}

/** How the bundle was compiled (see {@link cacheState}). */
export type CacheState = 'used' | 'rejected' | 'none' | 'unloaded';

/**
 * The loader's once-per-process state. The two entry files each carry a copy
 * of this loader (one file to load instead of three: scripts/build-ts.js), so
 * the state lives on the global object under a key naming this bundle's
 * path: both entries, and `dist/load.js` required directly, run one bundle.
 */
interface LoaderState {
  cache: CacheState;
  /** The entry that loaded the bundle, whose cache it was compiled with. */
  first?: EntryName;
  script?: vm.Script;
  bundle?: BundleModule;
}

const state: LoaderState = sharedState();

function sharedState(): LoaderState {
  const key = Symbol.for(`sd-activate bundle ${BUNDLE}`);
  const g = globalThis as Record<symbol, LoaderState | undefined>;
  if (g[key] === undefined) Object.defineProperty(g, key, { value: { cache: 'unloaded' }, enumerable: false, configurable: false, writable: false });
  return g[key]!;
}

/**
 * How the bundle was compiled: `used` (with a code cache V8 accepted),
 * `rejected` (V8 refused the cache), `none` (no cache for this V8), or
 * `unloaded` (not yet).
 */
export function cacheState(): CacheState {
  return state.cache;
}

/** Run the bundle (once) and return one of its entries' exports. */
export function entry(name: EntryName): unknown {
  state.bundle ??= load(name);
  return state.bundle.exports[name]();
}

/** The bundled modules run so far, by their path in `dist/`, or `[]` before the bundle runs. */
export function ranModules(): readonly string[] {
  return state.bundle?.ran ?? [];
}

/**
 * The code cache of the bundle as it stands now, with the bytecode of every
 * function run so far, and the entry that loaded it (whose cache it is).
 */
export function codeCache(): { build: string; first: EntryName; data: Buffer } {
  if (state.script === undefined || state.bundle === undefined || state.first === undefined) throw new Error('sd-activate: the bundle has not run');
  return { build: buildId(fs.readFileSync(BUNDLE, 'utf8')), first: state.first, data: state.script.createCachedData() };
}

function buildId(source: string): string {
  const end = source.indexOf('\n');
  if (!source.startsWith(BUILD_PREFIX) || end < 0) throw new Error(`sd-activate: ${BUNDLE} is not a bundle built by scripts/build-ts.js`);
  return source.slice(BUILD_PREFIX.length, end);
}

/**
 * The bundle's `require`: Node's, relative to the bundle, except that
 * `dist/addon.js` (which lib/binding.ts requires by path) is this loader's
 * copy of it, so the addon this loader may have started loading is the one
 * the bundle gets, without loading that file too.
 */
function bundleRequire(): NodeJS.Require {
  const req = createRequire(BUNDLE);
  const addonFile = path.join(__dirname, 'addon.js');
  const addon = { loadAddon };
  return Object.assign((id: string): unknown => (id === addonFile ? addon : req(id)), req);
}

function load(first: EntryName): BundleModule {
  state.first = first;
  // A process its LISTEN_PID names adopts its sockets as soon as the app
  // activates: the addon loads now and chooses its backend (libsystemd's
  // dlopen) on a thread of its own while the bundle and the app load. Any
  // other process loads neither until it needs them. A failure is reported
  // where the addon is first needed (lib/binding.ts).
  if (process.platform === 'linux' && process.env.LISTEN_PID === String(process.pid)) {
    try {
      (loadAddon() as { chooseBackendSoon(): void }).chooseBackendSoon();
    } catch {
      // lib/binding.ts loads it again and keeps the error.
    }
  }
  // ASCII by construction (esbuild --charset=ascii), so a one-byte string;
  // Node's utf8 decoding of ASCII is 3x faster than its latin1 (0.2 ms here).
  const source = fs.readFileSync(BUNDLE, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile(buildId(source), first));
  } catch {
    // No cache for this entry, V8 and build: compiled from source, as any module is.
  }
  // Node's module wrapper, on the first line so that line numbers stay the file's.
  const script = (state.script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) }));
  state.cache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  const m: BundleModule = { exports: {} as Entries, ran: [] };
  (script.runInThisContext() as (...args: unknown[]) => void)(m.exports, bundleRequire(), m, BUNDLE, __dirname);
  return m;
}
