// SPDX-License-Identifier: MIT
// Express's app.listen() as apps usually write it: the port a string straight
// from the environment, no host unless HOST is set, no callback.
'use strict';
const express = require('express');

const TEXT = 'hello from express';
const app = express();
app.get('/', (req, res) => res.send(TEXT));
app.get('/slow', (req, res) => setTimeout(() => res.send(TEXT), Number(req.query.ms) || 0));

if (process.env.HOST === undefined) app.listen(process.env.PORT);
else app.listen(process.env.PORT, process.env.HOST);
