#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Checks every prebuilt binary under prebuilds/ and prints what a release
// note needs (run by scripts/prebuilds.js and by .ci/run):
//
//   node scripts/check-prebuilds.js [--node x64=PATH] [--node arm64=PATH] [--json FILE]
//
// For each prebuilds/linux-<arch>/*.node: the ELF machine matches <arch>; no
// load-time dependency on libsystemd; and `readelf -V` names no symbol
// version above the floor:
//   GLIBC_     2.28 on x64 (Node 20's own floor), 2.17 on arm64 (the first
//              glibc for arm64)
//   GLIBCXX_, CXXABI_   what Node 20's official binary for that architecture
//              requires. `--node ARCH=PATH` reads it from that binary (CI
//              passes bin/node of node-linux-<arch>@20.20.2 from npm);
//              without it, the values read from 20.20.2 once: GLIBCXX_3.4.21,
//              CXXABI_1.3.9 on both.
// Prints size, sha256 and the highest version of each kind per binary, so a
// published package can be traced to the run that built it. Exits 1 on any
// violation.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const machines = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
const glibcFloor = { x64: '2.28', arm64: '2.17' };
const node20 = { GLIBCXX: '3.4.21', CXXABI: '1.3.9' }; // node-linux-{x64,arm64}@20.20.2

const args = process.argv.slice(2);
const nodeBinaries = {};
let jsonOut;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--node') {
    const [arch, file] = args[++i].split('=');
    nodeBinaries[arch] = file;
  } else if (args[i] === '--json') {
    jsonOut = args[++i];
  } else {
    throw new Error(`unknown argument ${args[i]}`);
  }
}

/** "2.28" vs "2.3.3": numeric, part by part. */
function cmp(a, b) {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d) return d;
  }
  return 0;
}

/** Highest needed version of each kind (GLIBC, GLIBCXX, CXXABI, GCC) in a file. */
function highest(file) {
  const text = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  // Only the "Version needs" section: what the file requires, not what it defines.
  const needs = text.split(/\n(?=Version )/).filter((s) => s.startsWith('Version needs')).join('\n');
  const out = {};
  for (const m of needs.matchAll(/Name: (GLIBCXX|CXXABI|GLIBC|GCC)_([0-9.]+)/g)) {
    if (!out[m[1]] || cmp(m[2], out[m[1]]) > 0) out[m[1]] = m[2];
  }
  return out;
}

const floors = {};
for (const arch of Object.keys(glibcFloor)) {
  floors[arch] = { GLIBC: glibcFloor[arch], ...node20 };
  if (nodeBinaries[arch]) {
    const n = highest(nodeBinaries[arch]);
    floors[arch].GLIBCXX = n.GLIBCXX;
    floors[arch].CXXABI = n.CXXABI;
    console.log(`check-prebuilds: Node for ${arch} (${nodeBinaries[arch]}) requires ` +
      `GLIBC_${n.GLIBC} GLIBCXX_${n.GLIBCXX} CXXABI_${n.CXXABI}`);
  }
}

const dir = path.join(root, 'prebuilds');
const problems = [];
const report = [];
const found = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
if (!found.length) problems.push('no prebuilds/ directory (npm run prebuilds)');
for (const sub of found) {
  const m = /^linux-(x64|arm64)$/.exec(sub);
  if (!m) { problems.push(`unexpected prebuilds/${sub}`); continue; }
  const arch = m[1];
  const files = fs.readdirSync(path.join(dir, sub)).filter((f) => f.endsWith('.node'));
  if (files.length !== 1) problems.push(`prebuilds/${sub}: expected one .node, found ${files.length}`);
  for (const f of files) {
    const file = path.join(dir, sub, f);
    const rel = path.relative(root, file);
    if (!/\.glibc\.node$/.test(f)) problems.push(`${rel}: not tagged glibc`);
    const header = execFileSync('readelf', ['-h', file], { encoding: 'utf8' });
    const machine = (/Machine:\s+(.*)/.exec(header) || [])[1];
    if (machine !== machines[arch]) problems.push(`${rel}: ELF machine ${machine}, expected ${machines[arch]}`);
    const dyn = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
    const needed = [...dyn.matchAll(/\(NEEDED\).*\[(.*)\]/g)].map((x) => x[1]);
    if (needed.some((n) => n.startsWith('libsystemd'))) problems.push(`${rel}: links libsystemd`);
    const syms = execFileSync('readelf', ['-S', '-W', file], { encoding: 'utf8' });
    if (/\.symtab|\.debug_/.test(syms)) problems.push(`${rel}: not stripped`);
    const v = highest(file);
    for (const kind of ['GLIBC', 'GLIBCXX', 'CXXABI']) {
      if (v[kind] && cmp(v[kind], floors[arch][kind]) > 0) {
        problems.push(`${rel}: needs ${kind}_${v[kind]}, above the floor ${kind}_${floors[arch][kind]}`);
      }
    }
    const data = fs.readFileSync(file);
    const entry = {
      file: rel, arch, size: data.length,
      sha256: crypto.createHash('sha256').update(data).digest('hex'),
      needed, highest: v, floors: floors[arch],
    };
    report.push(entry);
    console.log(`${entry.sha256}  ${rel}`);
    console.log(`  ${arch}, ${(data.length / 1024).toFixed(1)} KiB, needs ${needed.join(' ')}; highest ` +
      ['GLIBC', 'GLIBCXX', 'CXXABI', 'GCC'].filter((k) => v[k]).map((k) => `${k}_${v[k]}`).join(' ') +
      ` (floors GLIBC_${floors[arch].GLIBC} GLIBCXX_${floors[arch].GLIBCXX} CXXABI_${floors[arch].CXXABI})`);
  }
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
if (problems.length) {
  for (const p of problems) process.stderr.write(`check-prebuilds: ${p}\n`);
  process.exit(1);
}
console.log(`check-prebuilds: ${report.length} prebuilds within their floors`);
