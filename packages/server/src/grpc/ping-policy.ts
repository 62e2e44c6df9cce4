// Keepalive enforcement: etcd's --grpc-keepalive-min-time (5 s), grpc's ping strikes. grpc-js's server
// takes grpc.http2.min_ping_interval_without_data_ms but does not enforce it (1.14 sends no
// too_many_pings), and Node answers every PING with an ACK, so a client could make a node write as
// fast as it pings. Here a connection that pings again sooner than its port allows, with no more than
// control frames sent to it since its previous ping, gets a strike (a ping after a longer pause clears
// them); past MAX_PING_STRIKES it is sent GOAWAY ENHANCE_YOUR_CALM "too_many_pings", what grpc-go and
// grpc-core send (their clients, and grpc-js's, then double their keepalive interval), and closed.
import type { Http2Session } from 'node:http2';
import { constants } from 'node:http2';

/** grpc's default (GRPC_ARG_HTTP2_MAX_PING_STRIKES). */
const MAX_PING_STRIKES = 2;
/**
 * Bytes the node may write between two pings without that counting as data sent: the ACK of the
 * previous ping and a window update or two, with TLS framing. More means responses were sent; like
 * grpc's "without data" rule, pings then are not counted.
 */
const CONTROL_BYTES = 128;
const TOO_MANY_PINGS = Buffer.from('too_many_pings');

/** The minimum ping interval of each port a node's gRPC servers listen on (by local port). */
const minIntervalByPort = new Map<number, number>();

/** Connections accepted on `port` from now on must not ping more often than every `minIntervalMs`. */
export function setMinPingInterval(port: number, minIntervalMs: number): void {
  minIntervalByPort.set(port, minIntervalMs);
}

/** Applies the policy of the session's port (none for a port no server registered). */
export function policePings(session: Http2Session, now: () => number = Date.now): void {
  const port = session.socket?.localPort;
  const minMs = port === undefined ? undefined : minIntervalByPort.get(port);
  if (minMs === undefined) return;
  let lastPingAt = -Infinity;
  let writtenAtPing = 0;
  let strikes = 0;
  session.on('ping', () => {
    const t = now();
    const written = session.socket?.bytesWritten ?? 0;
    const dataSent = written - writtenAtPing > CONTROL_BYTES;
    if (t - lastPingAt >= minMs) strikes = 0;
    else if (!dataSent) strikes++;
    lastPingAt = t;
    writtenAtPing = written;
    if (strikes <= MAX_PING_STRIKES || session.closed || session.destroyed) return;
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, TOO_MANY_PINGS);
    session.close();
  });
}
