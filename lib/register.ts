// SPDX-License-Identifier: MIT
/**
 * `sd-activate/register`: socket activation for an unmodified app. Load it
 * before the app (`node --import sd-activate/register server.js`, or
 * `--require`); every `listen()` the app makes then names what it may serve,
 * and listens on the inherited socket that fits instead of binding. See
 * docs/zero-code.md for how it decides, the settle moment and the variables.
 *
 * The one entry point with side effects at import, opted into by name.
 *
 * @see sd_listen_fds(3), sd_notify(3)
 * @packageDocumentation
 */
import { startPreload } from './preload/patch';

startPreload();
