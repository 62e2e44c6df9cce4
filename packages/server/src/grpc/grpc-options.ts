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
};

/** Applies --dial-overrides to a peer address. */
export function dialAddress(address: string, overrides: ReadonlyMap<string, string>): string {
  return overrides.get(address) ?? address;
}
