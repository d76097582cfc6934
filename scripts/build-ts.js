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
//
// Then it bundles dist/index.js and dist/register.js, with every module they
// reach, into one file, dist/bundle.js (esbuild; each module stays a module
// that runs on its first require, so the lazy requires stay lazy), and makes
// the two entries loaders that run it (dist/load.js and dist/addon.js
// bundled into each: one file to load; one instance for both entries, see
// lib/load.ts). The loaders list the main
// entry's names in the form Node's ESM loader reads. Last it writes the code
// cache for this node (scripts/code-cache.js). The other dist/ files stay, for
// the command (dist/cli.js) and the tests of internals.
//   node scripts/build-ts.js
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist');
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

// esbuild's helper that runs a bundled module on its first require, as it
// prints it; the build fails if that changes (the tests read `module.ran`).
const COMMONJS = 'var __commonJS=(cb,mod)=>function(){return mod||(0,cb[__getOwnPropNames(cb)[0]])((mod={exports:{}}).exports,mod),mod.exports};';
const COMMONJS_RECORDING = 'var __commonJS=(cb,mod)=>function(){return mod||(module.ran.push(__getOwnPropNames(cb)[0]),' +
  '(0,cb[__getOwnPropNames(cb)[0]])((mod={exports:{}}).exports,mod)),mod.exports};';

/** How both the bundle and the entry files are built: CommonJS for Node 20, ASCII only (lib/load.ts reads it as UTF-8). */
const ESBUILD = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', charset: 'ascii', legalComments: 'none',
  minifyWhitespace: true, minifySyntax: true, external: ['node-gyp-build'], logLevel: 'error',
};

/** dist/bundle.js from tsc's dist/index.js and dist/register.js; its first line names the build. */
function bundle() {
  const entry = path.join(dist, 'bundle-entry.js');
  fs.writeFileSync(entry, 'module.exports = { main: () => require("./index.js"), register: () => require("./register.js") };\n');
  const outfile = path.join(dist, 'bundle.js');
  require('esbuild').buildSync({ ...ESBUILD, entryPoints: [entry], outfile });
  fs.rmSync(entry);
  const text = fs.readFileSync(outfile, 'utf8');
  if (!text.includes(COMMONJS)) throw new Error('build-ts: esbuild\'s __commonJS helper changed shape; update scripts/build-ts.js');
  const body = text.replace(COMMONJS, COMMONJS_RECORDING);
  const id = crypto.createHash('sha256').update(body).digest('hex').slice(0, 16);
  fs.writeFileSync(outfile, `// sd-activate bundle ${id}\n${body}`);
}

/** The names dist/index.js exports, read from tsc's output in a fresh node. */
function mainNames() {
  const r = spawnSync(process.execPath, ['-p', `JSON.stringify(Object.keys(require(${JSON.stringify(path.join(dist, 'index.js'))})))`],
    { encoding: 'utf8', env: { ...process.env, LISTEN_PID: '', LISTEN_FDS: '' } });
  if (r.status !== 0) throw new Error(`build-ts: cannot list the exports of dist/index.js: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * The two entries, each one file: the loader (dist/load.js with
 * dist/addon.js, bundled: every file Node loads cost 0.45-0.5 ms here)
 * asked for its entry of the bundle. The main entry ends with its names in
 * the form Node's ESM loader reads.
 */
function entries(names) {
  const write = (file, comment, code, tail = '') => {
    const r = require('esbuild').buildSync({ ...ESBUILD, stdin: { contents: code, resolveDir: dist, sourcefile: file }, write: false });
    fs.writeFileSync(path.join(dist, file), `'use strict';\n// ${comment}\n${r.outputFiles[0].text}${tail}`);
  };
  write('index.js', "sd-activate's main entry: the bundle (dist/bundle.js) through its loader (lib/load.ts; scripts/build-ts.js).",
    "module.exports = require('./load.js').entry('main');",
    `// The names, for Node's ESM loader (never run):\n0 && (module.exports = { ${names.join(', ')} });\n`);
  write('register.js', 'sd-activate/register: the preload, from the bundle (dist/bundle.js) through its loader (lib/load.ts; scripts/build-ts.js).',
    "require('./load.js').entry('register');");
  for (const f of ['index.js.map', 'register.js.map']) fs.rmSync(path.join(dist, f), { force: true });
}

compile();
const index = path.join(dist, 'index.js');
fs.writeFileSync(index, lazyIndex(fs.readFileSync(index, 'utf8')));
const names = mainNames();
bundle();
entries(names);
fs.rmSync(path.join(dist, 'cache'), { recursive: true, force: true });
const cache = spawnSync(process.execPath, [path.join(__dirname, 'code-cache.js')], { stdio: 'inherit' });
if (cache.status !== 0) process.exit(cache.status ?? 1);
