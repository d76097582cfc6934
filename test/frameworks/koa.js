// SPDX-License-Identifier: MIT
// Koa's app.listen(): the port a number, host from HOST when set.
'use strict';
const Koa = require('koa');

const TEXT = 'hello from koa';
const app = new Koa();
app.use(async (ctx) => {
  if (ctx.path === '/slow') await new Promise((resolve) => setTimeout(resolve, Number(ctx.query.ms) || 0));
  else if (ctx.path !== '/') return; // 404
  ctx.body = TEXT;
});

if (process.env.HOST === undefined) app.listen(Number(process.env.PORT));
else app.listen(Number(process.env.PORT), process.env.HOST);
