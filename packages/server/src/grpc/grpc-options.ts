// Channel and server options shared by every gRPC endpoint of a node.
import type { ChannelOptions } from '@grpc/grpc-js';

/** What the node sends at most in one message (range responses, snapshot chunks to clients); not a bound on what it accepts. */
const MAX_SEND_BYTES = 64 << 20;

/** etcd's grpcOverheadBytes: what a request may carry beyond --max-request-bytes (framing, the other fields). */
export const GRPC_OVERHEAD_BYTES = 512 << 10;

/**
 * Wire bytes per peer MessageBatch: the transport starts a new batch rather than pass this. One
 * message larger than this (an append of one big entry) goes in a batch of its own.
 */
export const PEER_BATCH_BYTES = 8 << 20;

/** etcd's rule for the client port: --max-request-bytes plus the gRPC overhead, nothing more. */
export function clientReceiveLimit(maxRequestBytes: number): number {
  return maxRequestBytes + GRPC_OVERHEAD_BYTES;
}

/**
 * What a peer may send: a batch of at most PEER_BATCH_BYTES, or one message alone. The largest lone
 * message is an append of one entry (consensus appends hold at most maxMessageBytes, 1 MiB, unless one
 * entry is larger), and an entry is at most what a client could send (clientReceiveLimit) plus the
 * message's own fields; a forwarded client call is at most clientReceiveLimit; a snapshot chunk is
 * 1 MiB. Each gets the gRPC overhead once more for the batch's and the message's fields.
 */
export function peerReceiveLimit(maxRequestBytes: number): number {
  return Math.max(PEER_BATCH_BYTES, clientReceiveLimit(maxRequestBytes)) + GRPC_OVERHEAD_BYTES;
}

/**
 * The shortest interval at which a connection may ping (grpc/ping-policy.ts enforces it): etcd's
 * --grpc-keepalive-min-time default on the client port; on a port peers use, less than the 2 s their
 * channels ping at (peerChannelOptions).
 */
export const CLIENT_MIN_PING_INTERVAL_MS = 5000;
export const PEER_MIN_PING_INTERVAL_MS = 1000;

export interface ServerLimits {
  /** --max-concurrent-streams. */
  readonly maxConcurrentStreams: number;
  /** The largest message the server accepts (clientReceiveLimit or peerReceiveLimit). */
  readonly maxReceiveBytes: number;
  /** CLIENT_MIN_PING_INTERVAL_MS or PEER_MIN_PING_INTERVAL_MS. */
  readonly minPingIntervalMs: number;
}

/**
 * A node's server: admission bounds on messages and connections. A connection may open at most
 * `maxConcurrentStreams` streams at once (further ones wait in the client, as HTTP/2 says); one without
 * a call for 5 minutes is closed; the server pings every connection each minute and closes one that
 * does not answer within 20 s (a vanished client's half-open connection is reaped). A larger message
 * is refused by grpc-js with RESOURCE_EXHAUSTED before it is decoded.
 */
export function serverOptions(limits: ServerLimits): ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.maxReceiveBytes,
    'grpc.max_send_message_length': MAX_SEND_BYTES,
    // grpc-js does not enforce this (ping-policy.ts does); set for what it documents.
    'grpc.http2.min_ping_interval_without_data_ms': limits.minPingIntervalMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': 5 * 60_000,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  };
}

/**
 * No transparent retries and no retry buffer: grpc-js otherwise keeps every message a stream sends
 * (up to 1 MiB per call, 256 MiB per channel) until the call commits. Raft resends what a lost stream
 * carried, and a forwarded call is retried by the router's own rule, so the copies buy nothing.
 */
export const NO_RETRY_BUFFER: ChannelOptions = {
  'grpc.enable_retries': 0,
  'grpc.per_rpc_retry_buffer_size': 0,
};

/**
 * Channels to a peer's Raft service. They send at most what the peer's server accepts (a larger batch
 * fails here, not on the wire); answers carry no entries.
 */
export const peerChannelOptions = (maxRequestBytes: number): ChannelOptions => ({
  'grpc.max_send_message_length': peerReceiveLimit(maxRequestBytes),
  'grpc.keepalive_time_ms': 2000,
  'grpc.keepalive_timeout_ms': 2000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1000,
  // A separate connection per peer channel: never share one with client-forwarding traffic.
  'grpc.use_local_subchannel_pool': 1,
  ...NO_RETRY_BUFFER,
});

/** Applies --dial-overrides to a peer address. */
export function dialAddress(address: string, overrides: ReadonlyMap<string, string>): string {
  return overrides.get(address) ?? address;
}
