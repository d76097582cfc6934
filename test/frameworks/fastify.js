// SPDX-License-Identifier: MIT
// Fastify's own listen(): port from PORT, host from HOST (none given when
// HOST is unset, so Fastify's default, localhost, applies).
'use strict';
const fastify = require('fastify')();

const TEXT = 'hello from fastify';
fastify.get('/', async () => TEXT);
fastify.get('/slow', async (request) => {
  await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms) || 0));
  return TEXT;
});

const options = {};
if (process.env.PORT !== undefined) options.port = Number(process.env.PORT);
if (process.env.HOST !== undefined) options.host = process.env.HOST;
fastify.listen(options).catch((err) => {
  console.error(err);
  process.exit(1);
});
