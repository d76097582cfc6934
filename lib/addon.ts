// SPDX-License-Identifier: MIT
/**
 * Which file of the native addon this process loads, and its one load (Node
 * keeps one instance per file): `build/Release` (a source build) unless
 * `PREBUILDS_ONLY`, else this package's prebuild for this architecture (the
 * file `scripts/prebuilds.js` makes), else node-gyp-build's lookup, which
 * names what it looked for when nothing fits. Going to the two files
 * directly saves loading node-gyp-build and its lookup, about 4 ms of a
 * prebuild's start-up here.
 *
 * Outside the bundle: bundled into each entry file with the loader
 * (lib/load.ts), which starts it before the bundle runs for a process its
 * `LISTEN_PID` names and hands it to the bundle as `dist/addon.js`, the
 * path `lib/binding.ts` requires (outside the bundle, as in the command,
 * that file itself). Node keeps one instance of the `.node` file either way.
 *
 * @internal
 */
import path = require('node:path');

const root = path.join(__dirname, '..');
let addon: unknown;

/** The addon's exports; throws what loading it threw. */
export function loadAddon(): unknown {
  if (addon !== undefined) return addon;
  if (!process.env.PREBUILDS_ONLY) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (addon = require(path.join(root, 'build', 'Release', 'sd_activate.node')));
    } catch (err) {
      if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (addon = require(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'sd-activate.glibc.node')));
  } catch {
    // None, or it does not load here (musl, an older glibc): node-gyp-build
    // looks for another that fits, or says what it looked for.
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (addon = (require('node-gyp-build') as (dir: string) => unknown)(root));
}
