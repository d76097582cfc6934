// SPDX-License-Identifier: MIT
import adapter from '@sveltejs/adapter-node';

export default { kit: { adapter: adapter() } };
