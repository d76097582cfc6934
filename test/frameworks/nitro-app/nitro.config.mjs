// SPDX-License-Identifier: MIT
export default {
  compatibilityDate: '2025-07-01',
  preset: 'node-server',
};
