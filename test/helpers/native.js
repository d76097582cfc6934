// SPDX-License-Identifier: MIT
'use strict';
// The addon as the tests load it: the same node-gyp-build lookup the package uses.
module.exports = require('node-gyp-build')(require('node:path').join(__dirname, '..', '..'));
