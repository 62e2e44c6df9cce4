// Channel and server options shared by every gRPC endpoint of a node.
import type { ChannelOptions } from '@grpc/grpc-js';

const MAX_MESSAGE_BYTES = 64 << 20;

export const SERVER_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // Peers ping their long-lived streams to notice a dead connection; let them.
  'grpc.http2.min_ping_interval_without_data_ms': 1000,
  'grpc.keepalive_permit_without_calls': 1,
};

/**
 * The node's server: SERVER_OPTIONS plus admission bounds on connections. A connection may open at most
 * `maxConcurrentStreams` streams at once (further ones wait in the client, as HTTP/2 says); one without
 * a call for 5 minutes is closed; the server pings every connection each minute and closes one that
 * does not answer within 20 s (a vanished client's half-open connection is reaped).
 */
export function serverOptions(maxConcurrentStreams: number): ChannelOptions {
  return {
    ...SERVER_OPTIONS,
    'grpc.max_concurrent_streams': maxConcurrentStreams,
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

export const PEER_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 2000,
  'grpc.keepalive_timeout_ms': 2000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 50,
  'grpc.max_reconnect_backoff_ms': 1000,
  // A separate connection per peer channel: never share one with client-forwarding traffic.
  'grpc.use_local_subchannel_pool': 1,
  ...NO_RETRY_BUFFER,
};

/** Applies --dial-overrides to a peer address. */
export function dialAddress(address: string, overrides: ReadonlyMap<string, string>): string {
  return overrides.get(address) ?? address;
}
