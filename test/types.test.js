'use strict';
// The package's types, as a consumer's compiler sees them: test/types/patterns.ts
// (every documented usage) must compile, and test/types/misuse.ts (each line a
// @ts-expect-error) must fail exactly where it says, under strict settings with
// TypeScript 5.0 (the oldest supported: const type parameters) and the latest,
// and module resolution node16, nodenext and bundler. test/types has its own
// package.json and lock; `npm ci` installs them there on the first run.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { crossBackendSkip } = require('./helpers/backends');

const DIR = path.join(__dirname, 'types');
const COMPILERS = ['typescript-5.0', 'typescript-latest'];
const RESOLUTIONS = ['node16', 'nodenext', 'bundler'];

function install() {
  if (COMPILERS.every((c) => fs.existsSync(path.join(DIR, 'node_modules', c, 'bin', 'tsc')))) return null;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: DIR, encoding: 'utf8' });
  return r.status === 0 ? null : `npm ci in test/types failed: ${r.stderr || r.error}`;
}

test('the documented patterns compile and misuse does not, with TypeScript 5.0 and the latest, under node16, nodenext and bundler', { skip: crossBackendSkip(), timeout: 300000 }, (t) => {
  const failed = install();
  if (failed && process.env.CI !== 'true') return t.skip(failed);
  assert.equal(failed, null);
  const link = path.join(DIR, 'node_modules', 'sd-activate');
  if (!fs.existsSync(link)) fs.symlinkSync(path.relative(path.dirname(link), path.join(__dirname, '..')), link, 'dir');
  for (const ts of COMPILERS) {
    const version = require(path.join(DIR, 'node_modules', ts, 'package.json')).version;
    for (const m of RESOLUTIONS) {
      const r = spawnSync(process.execPath, [path.join(DIR, 'node_modules', ts, 'bin', 'tsc'), '-p', path.join(DIR, `tsconfig.${m}.json`)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `TypeScript ${version}, ${m}:\n${r.stdout}${r.stderr}`);
      t.diagnostic(`TypeScript ${version}, moduleResolution ${m}: patterns compile, misuse refused`);
    }
  }
});
