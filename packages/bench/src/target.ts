// What the load generator needs: a few operations over a fixed set of gRPC channels, through one of
// the client APIs (raftkv.v1, or etcd's KV API, which both systems serve), and each system's way to
// find its current leader (its own status call).
import type { ChannelOptions } from '@grpc/grpc-js';
import type { ApiName, ClientKind, SystemName } from './kinds.js';

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
  /** One linearizable read of every key under prefix; resolves to the number of keys it returned. */
  range(channel: number, prefix: string): Promise<number>;
  /** Puts value if the key's mod_revision is modRevision (0: the key is absent). */
  txn(channel: number, key: string, modRevision: number, value: Buffer): Promise<TxnResult>;
  close(): void;
}

export interface TxnResult {
  succeeded: boolean;
  /** Succeeded: the revision of this write (the key's new mod_revision); otherwise the key's current one. */
  modRevision: number;
}

/** A client API the load goes through. */
export interface ApiClient {
  readonly name: ApiName;
  /** `channels` connections of the given kind; channel i talks to endpoints[i % endpoints.length]. */
  connect(kind: ClientKind, endpoints: readonly string[], channels: number, opTimeoutMs: number): Connection;
}

/** A system's own way to find its leader (raftkv: Admin.Status; etcd: Maintenance.Status). */
export interface LeaderFinder {
  readonly system: SystemName;
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
