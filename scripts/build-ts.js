#!/usr/bin/env node
// SPDX-License-Identifier: MIT
'use strict';
// Compile lib/ to dist/ with TypeScript, then make the main entry load the
// modules that activate() does not need (notify, watchdog, fd store,
// lifecycle, cluster) on first use: an app that only adopts its sockets loads
// none of them (bench/startup.js measures it).
//
// TypeScript compiles `export { notify } from './notify'` to
//   var notify_1 = require("./notify");
//   Object.defineProperty(exports, "notify", { enumerable: true, get: function () { return notify_1.notify; } });
// The getter is what Node's ESM loader recognises as a named export, so it
// stays; only the require becomes a stand-in that requires the module the
// first time one of its exports is read (Node's module cache keeps the one
// instance: dist/notify.js required directly is the same module). The
// literal require("./notify") stays, for tools that trace a package's files.
//   node scripts/build-ts.js
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const LAZY = ['./notify', './watchdog', './fdstore', './lifecycle', './cluster'];

function compile() {
  const tsDir = path.dirname(require.resolve('typescript/package.json', { paths: [root] }));
  const tsc = path.join(tsDir, require(path.join(tsDir, 'package.json')).bin.tsc);
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** dist/index.js with each LAZY require made a stand-in; throws when TypeScript's output is not the expected shape. */
function lazyIndex(text) {
  let out = text;
  for (const spec of LAZY) {
    const line = new RegExp(`^var (\\w+) = require\\("${spec.replace(/[./]/g, '\\$&')}"\\);$`, 'm');
    const m = out.match(line);
    if (!m) throw new Error(`build-ts: no \`var X = require("${spec}");\` in dist/index.js (did TypeScript's output change?)`);
    out = out.replace(line, `var ${m[1]} = lazy(() => require("${spec}"));`);
  }
  const helper = [
    '/** A stand-in for a module, required when one of its exports is first read (scripts/build-ts.js). */',
    'function lazy(load) {',
    '    let m;',
    '    return new Proxy({}, { get: (_, key) => (m ?? (m = load()))[key] });',
    '}',
  ].join('\n');
  return out.replace(/^"use strict";\n/, (s) => `${s}${helper}\n`);
}

compile();
const index = path.join(root, 'dist', 'index.js');
fs.writeFileSync(index, lazyIndex(fs.readFileSync(index, 'utf8')));
