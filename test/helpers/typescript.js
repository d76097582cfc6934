// SPDX-License-Identifier: MIT
'use strict';
// The consumer-side TypeScript compilers of test/types (its own package.json
// and lock: the oldest supported TypeScript and the latest), installed with
// `npm ci` on first use, and a compile over one of its tsconfig files.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const DIR = path.join(__dirname, '..', 'types');
const COMPILERS = ['typescript-5.0', 'typescript-latest'];
const RESOLUTIONS = ['node16', 'nodenext', 'bundler'];

/** Install test/types when needed, link this package in; an error text, or null when ready. */
function prepare() {
  if (!COMPILERS.every((c) => fs.existsSync(path.join(DIR, 'node_modules', c, 'bin', 'tsc')))) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: DIR, encoding: 'utf8' });
    if (r.status !== 0) return `npm ci in test/types failed: ${r.stderr || r.error}`;
  }
  const link = path.join(DIR, 'node_modules', 'sd-activate');
  if (!fs.existsSync(link)) fs.symlinkSync(path.join('..', '..', '..'), link, 'dir');
  return null;
}

/** Compile with `compiler` (one of COMPILERS) and a tsconfig of test/types; resolves { ok, output, version }. */
function compile(compiler, tsconfig) {
  const version = require(path.join(DIR, 'node_modules', compiler, 'package.json')).version;
  const r = spawnSync(process.execPath, [path.join(DIR, 'node_modules', compiler, 'bin', 'tsc'), '-p', tsconfig], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`, version };
}

module.exports = { DIR, COMPILERS, RESOLUTIONS, prepare, compile };
