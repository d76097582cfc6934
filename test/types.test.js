// SPDX-License-Identifier: MIT
'use strict';
// The package's types, as a consumer's compiler sees them: test/types/patterns.ts
// (every documented usage) must compile, and test/types/misuse.ts (each line a
// @ts-expect-error) must fail exactly where it says, under strict settings with
// TypeScript 5.0 (the oldest supported: const type parameters) and the latest,
// and module resolution node16, nodenext and bundler.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { crossBackendSkip } = require('./helpers/backends');
const ts = require('./helpers/typescript');

test('the documented patterns compile and misuse does not, with TypeScript 5.0 and the latest, under node16, nodenext and bundler', { skip: crossBackendSkip(), timeout: 300000 }, (t) => {
  const failed = ts.prepare();
  if (failed && process.env.CI !== 'true') return t.skip(failed);
  assert.equal(failed, null);
  for (const compiler of ts.COMPILERS) {
    for (const m of ts.RESOLUTIONS) {
      const r = ts.compile(compiler, path.join(ts.DIR, `tsconfig.${m}.json`));
      assert.ok(r.ok, `TypeScript ${r.version}, ${m}:\n${r.output}`);
      t.diagnostic(`TypeScript ${r.version}, moduleResolution ${m}: patterns compile, misuse refused`);
    }
  }
});
