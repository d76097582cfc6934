// SPDX-License-Identifier: MIT
import { sveltekit } from '@sveltejs/kit/vite';

export default { plugins: [sveltekit()] };
