// SPDX-License-Identifier: MIT
'use strict';
// Every example in the docs runs, or says it does not. For each fenced block
// of README.md, docs/, examples/README.md and bench/README.md:
//   js    the README's ten lines, which test/readme.test.js runs as written;
//   ts    type-checked against the package (strict, node16, the latest TypeScript),
//         with the package's exports in scope as a consumer would import them;
//   ini   a unit file exactly as it is under examples/, which the e2e suite installs;
//   sh    marked "# illustration: ..." on its first line, or "# run as written by
//         .ci/run": then every command in it stands in .ci/run;
//   text  a drawing.
// Any other block (no language, output that no run produced) fails the test.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { crossBackendSkip } = require('./helpers/backends');
const ts = require('./helpers/typescript');

const ROOT = path.join(__dirname, '..');
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  'examples/README.md', 'bench/README.md'];

/** Every fenced block: { file, line, lang, body }. */
function blocks() {
  const out = [];
  for (const file of DOCS) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\S*)$/.exec(lines[i]);
      if (!open) continue;
      const start = i;
      const body = [];
      for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]);
      out.push({ file, line: start + 1, lang: open[1], body: `${body.join('\n')}\n`, heading: lines.slice(0, start).reverse().find((l) => l.startsWith('#')) });
    }
  }
  return out;
}

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const all = blocks();
const where = (b) => `${b.file}:${b.line}`;

test('every block says what it is, and the kind is one the docs test knows', () => {
  for (const b of all) assert.ok(['js', 'ts', 'ini', 'sh', 'text'].includes(b.lang), `${where(b)}: a block of kind ${JSON.stringify(b.lang)}: give it js, ts, ini, sh or text`);
});

test('the only JavaScript block is the README\'s ten lines, which test/readme.test.js runs', () => {
  for (const b of all.filter((x) => x.lang === 'js')) {
    assert.equal(b.file, 'README.md', where(b));
    assert.equal(b.heading, '## The ten lines', `${where(b)}: a JavaScript block no test runs`);
  }
  assert.match(fs.readFileSync(path.join(__dirname, 'readme.test.js'), 'utf8'), /## The ten lines/);
});

test('unit files shown are the files under examples/, which the e2e suite installs', () => {
  const units = files(path.join(ROOT, 'examples')).filter((f) => /\.(socket|service|conf)$/.test(f));
  const suite = fs.readFileSync(path.join(__dirname, 'e2e', 'suite.js'), 'utf8');
  const ini = all.filter((b) => b.lang === 'ini');
  assert.ok(ini.length > 0);
  for (const b of ini) {
    const same = units.find((f) => fs.readFileSync(f, 'utf8') === b.body);
    assert.ok(same, `${where(b)}: not the content of any unit file under examples/`);
    const rel = path.relative(path.join(ROOT, 'examples'), same);
    assert.ok(suite.includes(rel) || suite.includes(path.basename(path.dirname(rel))), `${where(b)}: ${rel} is not installed by the e2e suite`);
  }
});

test('shell blocks are run by .ci/run as written, or marked as illustrations', () => {
  const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
  for (const b of all.filter((x) => x.lang === 'sh')) {
    const [first, ...rest] = b.body.trimEnd().split('\n');
    if (/^# illustration: /.test(first)) continue;
    assert.match(first, /^# run as written by \.ci\/run/, `${where(b)}: mark it "# illustration: ..." or make .ci/run run it`);
    for (const cmd of rest.map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean)) {
      assert.ok(ci.includes(cmd), `${where(b)}: .ci/run does not run ${JSON.stringify(cmd)}`);
    }
  }
});

test('TypeScript blocks type-check against the package', { skip: crossBackendSkip(), timeout: 120000 }, (t) => {
  const failed = ts.prepare();
  if (failed && process.env.CI !== 'true') return t.skip(failed);
  assert.equal(failed, null);
  const dts = fs.readFileSync(path.join(ROOT, 'dist', 'index.d.ts'), 'utf8');
  const values = new Set();
  const types = new Set();
  for (const m of dts.matchAll(/export (type )?\{([^}]*)\}/g)) {
    for (const raw of m[2].split(',').map((s) => s.trim()).filter(Boolean)) {
      const name = raw.replace(/^type /, '').split(/\s+as\s+/).pop();
      (m[1] || raw.startsWith('type ') ? types : values).add(name);
    }
  }
  for (const m of dts.matchAll(/export declare (?:const|function|class) (\w+)/g)) values.add(m[1]);
  const prelude = `import * as http from 'node:http';\nimport * as dgram from 'node:dgram';\nimport * as sd from 'sd-activate';\n` +
    `import type { ${[...types].join(', ')} } from 'sd-activate';\nconst { ${[...values].join(', ')} } = sd;\nvoid http; void dgram;\n`;
  const dir = fs.mkdtempSync(path.join(ts.DIR, '.docs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sources = all.filter((b) => b.lang === 'ts').map((b, i) => {
    const file = path.join(dir, `block${i}.ts`);
    fs.writeFileSync(file, `// ${where(b)}\n${prelude}${b.body}export {};\n`);
    return { b, file };
  });
  assert.ok(sources.length > 0);
  const config = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({ extends: '../tsconfig.node16.json', files: sources.map((s) => path.basename(s.file)) }));
  const r = ts.compile('typescript-latest', config);
  assert.ok(r.ok, `the TypeScript blocks do not type-check (TypeScript ${r.version}):\n${r.output}`);
  t.diagnostic(`${sources.length} TypeScript block(s) type-check: ${sources.map((s) => where(s.b)).join(', ')}`);
});
