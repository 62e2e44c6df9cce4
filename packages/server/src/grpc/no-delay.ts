// TCP_NODELAY, and the ping policy (ping-policy.ts), on the gRPC servers' accepted connections.
//
// grpc-js disables Nagle's algorithm on the connections it dials but not on those its server accepts
// (it creates the http2 server without noDelay). A reply then waits for the ACK of the previous
// segment, and with the peer's delayed ACKs a unary call at one in flight took ~40 ms instead of ~1 ms
// (measured on a 3-node cluster: p50 47 ms before, a few ms after). Both server kinds are covered, so
// TLS listeners get it too. Installed once, before the first server binds.
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { policePings } from './ping-policy.js';

let installed = false;

export function installServerConnectionHooks(): void {
  if (installed) return;
  installed = true;
  const noDelay = (socket: Socket): void => {
    socket.setNoDelay(true);
  };
  const createServer = http2.createServer;
  const createSecureServer = http2.createSecureServer;
  http2.createServer = ((...args: Parameters<typeof http2.createServer>) =>
    createServer(...args)
      .on('connection', noDelay)
      .on('session', (s) => policePings(s))) as typeof http2.createServer;
  http2.createSecureServer = ((...args: Parameters<typeof http2.createSecureServer>) =>
    createSecureServer(...args)
      .on('connection', noDelay)
      .on('session', (s) => policePings(s))) as typeof http2.createSecureServer;
}
