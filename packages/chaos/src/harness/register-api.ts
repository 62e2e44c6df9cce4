// How the register workload reaches a node: raftkv.v1 (Propose/Read, with exactly-once sessions) or
// etcd's v3 KV API (Put/DeleteRange/Txn/Range, no sessions), both through the slot's @raftkv/client.
// Both record the same operations, so one linearizability checker judges either API.
import type { AttemptObserver, SessionId } from '@raftkv/client';
import type { Input, Output, Value } from '../checker/index.js';
import type { Cluster } from './cluster.js';
import * as etcd from './etcd-ops.js';

/** Exactly-once identity of a write: retries carry the same pair. */
export type Session = SessionId;

export type WriteInput = Exclude<Input, { f: 'read' }>;

/** One call's deadline (Date.now() clock) and who is told of each failed attempt the client makes. */
export interface CallContext {
  readonly deadline: number;
  readonly onFailedAttempt?: AttemptObserver;
}

export interface RegisterApi {
  readonly name: 'raftkv' | 'etcd';
  /** Whether writes can carry an exactly-once session (and so be retried after an indeterminate answer). */
  readonly sessions: boolean;
  /** A read of one key; `stale` = served from the node's local state (the harness's self-test). */
  read(node: number, key: string, call: CallContext, stale: boolean): Promise<Output>;
  write(node: number, key: string, input: WriteInput, call: CallContext, session?: Session): Promise<Output>;
}

const str = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('utf8');

/** The client's per-call options for a call context. */
const options = (c: CallContext): { timeoutMs: number; onFailedAttempt?: AttemptObserver } => ({
  timeoutMs: Math.max(1, c.deadline - Date.now()),
  ...(c.onFailedAttempt === undefined ? {} : { onFailedAttempt: c.onFailedAttempt }),
});

export function raftkvApi(cluster: Cluster): RegisterApi {
  return {
    name: 'raftkv',
    sessions: true,
    async read(node, key, call, stale) {
      const r = await cluster.clients[node]!.read(key, { ...options(call), stale });
      return { f: 'read', value: r.found ? str(r.value) : null };
    },
    async write(node, key, input, call, session) {
      const client = cluster.clients[node]!;
      // The per-slot clients have no session of their own: a write carries the workload's, or none.
      const o = { ...options(call), ...(session === undefined ? {} : { session }) };
      const r =
        input.f === 'put'
          ? await client.put(key, input.value, o)
          : input.f === 'delete'
            ? await client.delete(key, o)
            : await client.compareAndSwap(key, input.expected === null ? { absent: true } : { value: input.expected }, input.value, o);
      // The server reports the value each write found: the checker holds it to that.
      const previous: Value = r.previousFound ? str(r.previousValue) : null;
      return input.f === 'cas' ? { f: 'cas', succeeded: r.succeeded, current: previous } : { f: input.f, previous };
    },
  };
}

/**
 * etcd's KV API: put and delete ask for prev_kv (the value they replaced, checked like raftkv's
 * previous value); a CAS is a Txn comparing the value (or version 0 for "absent") that puts on success
 * and reads the key on failure (the value that defeated it); a read is a Range of the key.
 */
export function etcdApi(cluster: Cluster): RegisterApi {
  const value = (kvs: readonly { value: Buffer }[] | undefined): Value => (kvs !== undefined && kvs.length > 0 ? str(kvs[0]!.value) : null);
  return {
    name: 'etcd',
    sessions: false,
    async read(node, key, call, stale) {
      const r = await cluster.clients[node]!.etcd.range({ key: Buffer.from(key), serializable: stale }, options(call));
      return { f: 'read', value: value(r.kvs) };
    },
    async write(node, key, input, call) {
      const kv = cluster.clients[node]!.etcd;
      const k = Buffer.from(key);
      switch (input.f) {
        case 'put': {
          const r = await kv.put({ key: k, value: Buffer.from(input.value), prevKv: true }, options(call));
          return { f: 'put', previous: r.prevKv === undefined ? null : str(r.prevKv.value) };
        }
        case 'delete': {
          const r = await kv.deleteRange({ key: k, prevKv: true }, options(call));
          return { f: 'delete', previous: value(r.prevKvs) };
        }
        case 'cas': {
          const compare = [etcd.valueIs(k, input.expected === null ? null : Buffer.from(input.expected))];
          const r = await kv.txn(
            { compare, success: [etcd.putOp(k, Buffer.from(input.value))], failure: [etcd.rangeOp(k)] },
            options(call),
          );
          return r.succeeded ? { f: 'cas', succeeded: true } : { f: 'cas', succeeded: false, current: value(etcd.rangeResult(r, 0)) };
        }
      }
    },
  };
}
