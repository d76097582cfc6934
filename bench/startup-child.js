// SPDX-License-Identifier: MIT
'use strict';
// Child of bench/startup.js: one http server, started one way, that answers
// one request and exits. Modes:
//   own PORT         server.listen({ port, host }): binds itself
//   bare PORT        server.listen({ fd: 3 }): the inherited socket, no library
//   activate PORTS N require('sd-activate'), activate() with N listeners (N fds
//                    inherited), activation.listen() on the first
//   preload PORT     server.listen({ port, host }) under --require sd-activate/register
//   breakdown PORT N no server: prints the time of each step of the activate
//                    path (ms, JSON): node:http, require, the addon, the
//                    backend (libsystemd's dlopen), activate()
//   loader PORT 0    no server: the steps lib/load.ts takes, replayed one by
//                    one on the package's files with a timer around each (ms, JSON)
const httpStart = process.hrtime.bigint();
const http = require('node:http');
const httpMs = Number(process.hrtime.bigint() - httpStart) / 1e6;
const path = require('node:path');

const [mode, portArg, nArg] = process.argv.slice(2);
const ports = portArg.split(',').map(Number); // one per inherited fd
const port = ports[0];
const pkg = path.join(__dirname, '..');
const ms = (a, b) => Number(b - a) / 1e6;

function serve(listen) {
  const server = http.createServer((req, res) => {
    res.end('ok');
    server.close();
    server.closeAllConnections();
  });
  listen(server);
}

if (mode === 'own' || mode === 'preload') {
  serve((s) => s.listen({ port, host: '127.0.0.1' }));
} else if (mode === 'bare') {
  serve((s) => s.listen({ fd: 3 }));
} else if (mode === 'activate') {
  const { activate } = require(pkg);
  const config = {};
  ports.forEach((p, i) => { config[`l${i}`] = { port: p, bind: '127.0.0.1' }; });
  const activation = activate(config);
  serve((s) => activation.listen('l0', () => s));
} else if (mode === 'breakdown') {
  // The addon the package loads (Node keeps one instance per file): loaded
  // here first, it is timed apart from activate(), which then finds it loaded.
  const addonFile = require('node-gyp-build').path(pkg);
  // node:http is loaded above, as in an app that requires it first.
  const t0 = process.hrtime.bigint();
  const sd = require(pkg);
  const t1 = process.hrtime.bigint();
  const loads = Number(nArg) > 0; // with no LISTEN_PID, activate() never loads the addon
  const addon = loads ? require(addonFile) : undefined;
  const t2 = process.hrtime.bigint();
  if (loads) void addon.backend; // the addon chooses its backend: libsystemd's dlopen
  const t3 = process.hrtime.bigint();
  const config = {};
  ports.forEach((p, i) => { config[`l${i}`] = { port: p, bind: '127.0.0.1' }; });
  const activation = sd.activate(config, { onWarning: () => {} });
  const t4 = process.hrtime.bigint();
  const adopted = activation.report().adopted.length;
  const cache = require(path.join(pkg, 'dist', 'load.js')).cacheState();
  process.stdout.write(`${JSON.stringify({ http: httpMs, require: ms(t0, t1), addon: ms(t1, t2), backend: ms(t2, t3), activate: ms(t3, t4), adopted, loaded: sd.backend, cache })}\n`);
} else if (mode === 'loader') {
  // What require('sd-activate') does (lib/load.ts), step by step: a replay of
  // its Node calls on the same files, not the package's code, to say where
  // the time of the require goes (all but Node loading the entry file itself).
  const fs = require('node:fs');
  const t = [process.hrtime.bigint()];
  const step = () => t.push(process.hrtime.bigint());
  const vm = require('node:vm');
  const { createRequire } = require('node:module');
  step();
  const dist = path.join(pkg, 'dist');
  const source = fs.readFileSync(path.join(dist, 'bundle.js'), 'utf8');
  step();
  const build = source.slice(source.indexOf(' bundle ') + 8, source.indexOf('\n'));
  const cacheFile = path.join(dist, 'cache', `${build}-main-${process.versions.v8}-${process.arch}.bin`);
  const cachedData = fs.existsSync(cacheFile) ? fs.readFileSync(cacheFile) : undefined; // none: compiled from source
  step();
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: path.join(dist, 'bundle.js'), ...(cachedData ? { cachedData } : {}) });
  step();
  const m = { exports: {}, ran: [] };
  script.runInThisContext()(m.exports, createRequire(path.join(dist, 'bundle.js')), m, path.join(dist, 'bundle.js'), dist);
  step();
  m.exports.main();
  step();
  const names = ['node:vm', 'read the bundle', 'read its cache', 'compile (deserialize)', 'the bundle\'s top level', 'the main entry\'s modules'];
  const out = Object.fromEntries(names.map((n, i) => [n, ms(t[i], t[i + 1])]));
  out.cache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  throw new Error(`startup-child: unknown mode ${mode}`);
}
