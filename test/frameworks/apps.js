// SPDX-License-Identifier: MIT
// The fixture's apps: how to build each one and how to start its listening
// process directly (no npm, no shell, no wrapper: the pid that node gets is the
// pid that listens).
//
//   const { app, names } = require('./test/frameworks/apps');
//   const a = app('nitro', { port: 8080, host: '127.0.0.1' });
//   spawn(process.execPath, [...preloadFlags, ...a.command], { cwd: a.cwd, env: { ...base, ...a.env } });
//
// app(name, { port, host }) gives
//   { name, version, cwd, command, env, text, slow }
// command[0] is the absolute path of the script node runs, the rest its
// arguments (the node binary itself is not in it). env holds every variable the
// app needs: the port, the host (only when one is given: host undefined means
// the app's own default, and then no host variable is set at all), telemetry
// off. A caller that starts from process.env should drop ENV_KEYS from it
// first, or an inherited HOST/PORT takes the place of the app's default
// (Nitro falls back to HOST/PORT, adapter-node and Astro read HOST). text is in
// every answer to GET / and, when slow is true, to GET /slow?ms=N, which
// answers after N ms. Every app answers 200.
//
// Each entry of DEFS also says how setup.js builds it (build: the script and
// its arguments, output: the file a finished build leaves, clean: what a new
// build removes first).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = __dirname;
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** Telemetry off for every framework that has any. */
const TELEMETRY_OFF = {
  NEXT_TELEMETRY_DISABLED: '1',
  NUXT_TELEMETRY_DISABLED: '1',
  ASTRO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
};

/** Variables an app reads for its address: drop them from an inherited environment. */
const ENV_KEYS = ['PORT', 'HOST', 'HOSTNAME', 'NITRO_PORT', 'NITRO_HOST', 'NITRO_UNIX_SOCKET', 'SOCKET_PATH'];

function packageJson(pkg) {
  return JSON.parse(fs.readFileSync(path.join(NODE_MODULES, pkg, 'package.json'), 'utf8'));
}

/** Version of an installed package, or null when it is not installed. */
function version(pkg) {
  try {
    return packageJson(pkg).version;
  } catch {
    return null;
  }
}

/** Absolute path of a package's bin script (the node script, not the .bin link). */
function bin(pkg, name) {
  const b = packageJson(pkg).bin;
  return path.join(NODE_MODULES, pkg, typeof b === 'string' ? b : b[name]);
}

/** PORT/HOST style environment: only what is given. */
function addressEnv(portKey, hostKey, { port, host }) {
  const env = {};
  if (port !== undefined) env[portKey] = String(port);
  if (host !== undefined) env[hostKey] = host;
  return env;
}

const DEFS = {
  next: {
    pkg: 'next',
    packages: ['next', 'react', 'react-dom'],
    dir: 'next-app',
    build: () => [bin('next', 'next'), 'build'],
    output: '.next/BUILD_ID',
    clean: ['.next'],
    start: ({ port, host }) => ({
      command: [bin('next', 'next'), 'start',
        ...(host !== undefined ? ['-H', host] : []),
        ...(port !== undefined ? ['-p', String(port)] : [])],
      env: {},
    }),
    slow: true,
  },
  nitro: {
    pkg: 'nitropack',
    packages: ['nitropack'],
    dir: 'nitro-app',
    build: () => [bin('nitropack', 'nitro'), 'build'],
    output: '.output/server/index.mjs',
    clean: ['.output', '.nitro'],
    start: (addr) => ({
      command: [path.join(ROOT, 'nitro-app', '.output', 'server', 'index.mjs')],
      env: addressEnv('NITRO_PORT', 'NITRO_HOST', addr),
    }),
    slow: true,
  },
  sveltekit: {
    pkg: '@sveltejs/kit',
    packages: ['@sveltejs/kit', '@sveltejs/adapter-node', '@sveltejs/vite-plugin-svelte', 'svelte', 'vite'],
    dir: 'sveltekit-app',
    build: () => [bin('vite', 'vite'), 'build'],
    output: 'build/index.js',
    clean: ['build', '.svelte-kit'],
    // `node build` names the same file.
    start: (addr) => ({
      command: [path.join(ROOT, 'sveltekit-app', 'build', 'index.js')],
      env: addressEnv('PORT', 'HOST', addr),
    }),
    slow: true,
  },
  astro: {
    pkg: 'astro',
    packages: ['astro', '@astrojs/node'],
    dir: 'astro-app',
    build: () => [bin('astro', 'astro'), 'build'],
    output: 'dist/server/entry.mjs',
    clean: ['dist', '.astro'],
    start: (addr) => ({
      command: [path.join(ROOT, 'astro-app', 'dist', 'server', 'entry.mjs')],
      env: addressEnv('PORT', 'HOST', addr),
    }),
    slow: true,
  },
  fastify: {
    pkg: 'fastify',
    packages: ['fastify'],
    file: 'fastify.js',
    start: (addr) => ({ command: [path.join(ROOT, 'fastify.js')], env: addressEnv('PORT', 'HOST', addr) }),
    slow: true,
  },
  express: {
    pkg: 'express',
    packages: ['express'],
    file: 'express.js',
    start: (addr) => ({ command: [path.join(ROOT, 'express.js')], env: addressEnv('PORT', 'HOST', addr) }),
    slow: true,
  },
  koa: {
    pkg: 'koa',
    packages: ['koa'],
    file: 'koa.js',
    start: (addr) => ({ command: [path.join(ROOT, 'koa.js')], env: addressEnv('PORT', 'HOST', addr) }),
    slow: true,
  },
  http: {
    pkg: null, // node:http: the version is Node's
    packages: [],
    file: 'http.js',
    start: (addr) => ({ command: [path.join(ROOT, 'http.js')], env: addressEnv('PORT', 'HOST', addr) }),
    slow: true,
  },
};

const names = Object.keys(DEFS);

function appVersion(name) {
  const def = DEFS[name];
  return def.pkg === null ? process.versions.node : version(def.pkg);
}

/**
 * How to start app `name` listening on { port, host } (either may be
 * undefined: the app's default).
 */
function app(name, { port, host } = {}) {
  const def = DEFS[name];
  if (!def) throw new Error(`no framework app named ${JSON.stringify(name)} (there are: ${names.join(', ')})`);
  const { command, env } = def.start({ port, host });
  return {
    name,
    version: appVersion(name),
    versions: Object.fromEntries(def.packages.map((p) => [p, version(p)])),
    cwd: def.dir ? path.join(ROOT, def.dir) : ROOT,
    command,
    env: { ...TELEMETRY_OFF, ...env },
    text: `hello from ${name}`,
    slow: def.slow,
  };
}

/**
 * How the tests start each app (the framework's own default where that is the
 * interesting case) and where its listen() calls land on this machine: the
 * addresses a .socket unit (or `sd-activate -l`) must listen on so that every
 * call adopts, and the one a client connects to. `localhost` is resolved as
 * Node resolves it (dns.lookup, in the resolver's order): one listen() of the
 * first address (Astro), or, for Fastify, one listen() per address.
 */
const HOSTS = {
  next: '127.0.0.1',
  nitro: '127.0.0.1',
  sveltekit: undefined, // adapter-node's default 0.0.0.0; it reads LISTEN_FDS itself, which the preload took
  astro: undefined, // Astro's default, localhost
  fastify: undefined, // Fastify's default, localhost
  express: undefined, // app.listen(process.env.PORT): a string port, no host
  koa: '127.0.0.1',
  http: '127.0.0.1',
};

/** @returns {Promise<{ host: string | undefined, addresses: string[], target: string }>} */
async function where(name) {
  const host = HOSTS[name];
  if (name !== 'astro' && name !== 'fastify') return { host, addresses: ['127.0.0.1'], target: '127.0.0.1' };
  const all = (await require('node:dns').promises.lookup('localhost', { all: true })).map((a) => a.address);
  const addresses = name === 'astro' ? all.slice(0, 1) : [...new Set(all)];
  return { host, addresses, target: addresses[0] };
}

/**
 * The environment for a graceful stop by the preload (SD_ACTIVATE_GRACEFUL_STOP):
 * frameworks whose own SIGTERM handler would race it are told to leave SIGTERM
 * to the preload, through their own documented switches. Next.js exits 143 once
 * its cleanup is done, not when requests are; Nitro's shutdown destroys
 * connections that have not sent their request yet. SvelteKit's adapter-node
 * closes as the preload does and needs nothing.
 */
function stopEnv(name) {
  const own = { next: { NEXT_MANUAL_SIG_HANDLE: 'true' }, nitro: { NITRO_SHUTDOWN_DISABLED: 'true' } };
  return { SD_ACTIVATE_GRACEFUL_STOP: '10', ...own[name] };
}

module.exports = { app, names, appVersion, where, stopEnv, HOSTS, DEFS, ROOT, TELEMETRY_OFF, ENV_KEYS };
