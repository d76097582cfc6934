// SPDX-License-Identifier: MIT
export default defineEventHandler(() => 'hello from nitro');
