// SPDX-License-Identifier: MIT
// Plain node:http: listen(port, host), host undefined when HOST is unset.
'use strict';
const http = require('node:http');

const TEXT = 'hello from http';
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = () => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(TEXT);
  };
  if (url.pathname === '/') send();
  else if (url.pathname === '/slow') setTimeout(send, Number(url.searchParams.get('ms')) || 0);
  else {
    res.writeHead(404);
    res.end();
  }
}).listen(Number(process.env.PORT), process.env.HOST);
