// SPDX-License-Identifier: MIT
// Misuse that must not compile: each line below carries @ts-expect-error, so
// the compile fails if sd-activate's types ever let one of them through.
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { activate, lifecycle, notify } from 'sd-activate';

const activation = activate({
  http: { port: 8080, bind: '127.0.0.1' },
  dns: { port: 53, type: 'datagram' },
});

// @ts-expect-error a listener that was not configured
activation.targets('nope');
// @ts-expect-error a datagram target has no backlog
void activation.targets('dns')[0]!.backlog;
// @ts-expect-error a stream target cannot make a dgram socket
dgram.createSocket(activation.targets('http')[0]!);
// @ts-expect-error a stream listener's factory gets stream targets: no `type` to create a dgram socket with
void activation.listen('http', (t) => dgram.createSocket(t));
// @ts-expect-error an option ListenerConfig does not have (Node's `host` is `bind` here)
activate({ web: { port: 8080, host: '127.0.0.1' } });
// @ts-expect-error a port is a number
activate({ web: { port: '8080' } });
// @ts-expect-error type is 'stream' or 'datagram'
activate({ web: { port: 8080, type: 'udp' } });
// @ts-expect-error servers are servers or promises of them
lifecycle({ servers: [http] });
// @ts-expect-error notify values are strings, numbers or bigints
notify({ READY: true });
