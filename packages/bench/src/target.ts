// What the load generator needs from a system under test: a few operations over a fixed set of gRPC
// channels, and the address of the current leader. One implementation per system (raftkv, etcd).
import type { ChannelOptions } from '@grpc/grpc-js';
import type { ClientKind, SystemName } from './kinds.js';

export interface CasResult {
  succeeded: boolean;
  current: Buffer | undefined;
}

export interface Connection {
  /** Writes key=value; resolves once the system acknowledged it as committed. */
  put(channel: number, key: string, value: Buffer): Promise<void>;
  /** Reads key; linearizable or stale (served by the member the channel talks to). */
  read(channel: number, key: string, linearizable: boolean): Promise<void>;
  /**
   * Sets key to next if it currently holds expected (absent when undefined). On a mismatch, `current`
   * is the value the key holds (undefined: absent), as a compare-and-swap loop would use next.
   */
  cas(channel: number, key: string, expected: Buffer | undefined, next: Buffer): Promise<CasResult>;
  close(): void;
}

export interface SystemClient {
  readonly name: SystemName;
  /** `channels` connections of the given kind; channel i talks to endpoints[i % endpoints.length]. */
  connect(kind: ClientKind, endpoints: readonly string[], channels: number, opTimeoutMs: number): Connection;
  /** The endpoint of the current leader among `endpoints`, or undefined if none is known yet. */
  findLeader(endpoints: readonly string[], timeoutMs: number): Promise<string | undefined>;
}

/**
 * Options for channel i. grpc-js shares one subchannel (one TCP connection) between channels whose
 * target and options are equal; a local subchannel pool plus a distinct option per channel gives
 * each channel its own connection, as separate clients would have.
 */
export function channelOptions(i: number): ChannelOptions {
  return {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.channel_id_for_bench': i,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  };
}

export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}
