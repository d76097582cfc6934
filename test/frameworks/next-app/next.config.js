// SPDX-License-Identifier: MIT
// The fixture folder (test/frameworks) is the root of this app's dependency
// tree: said here so Next does not pick the repository's own lockfile.
const path = require('node:path');

const root = path.join(__dirname, '..');
module.exports = { turbopack: { root }, outputFileTracingRoot: root };
