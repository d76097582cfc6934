// SPDX-License-Identifier: MIT
'use strict';
// The test addon (test/native, built by scripts/test-addon.js when npm test
// runs): the product's primitives built once more, with libsystemd wherever
// the host has it, plus the test-only ones: notifyAsync (the backend's own
// blocking notify) and barrier (sd_notify_barrier in C). It chooses its
// backend when it loads, as the product does; loaded through this helper it
// runs the same backend as the product under test (helpers/native.js).
const native = require('./native');
const { addonPath } = require('../../scripts/test-addon');

const saved = process.env.SD_ACTIVATE_BACKEND;
process.env.SD_ACTIVATE_BACKEND = native.backend;
try {
  module.exports = require(addonPath);
} finally {
  if (saved === undefined) delete process.env.SD_ACTIVATE_BACKEND; else process.env.SD_ACTIVATE_BACKEND = saved;
}
