// How the register workload reaches a node: raftkv.v1 (Propose/Read, with exactly-once sessions) or
// etcd's v3 KV API (Put/DeleteRange/Txn/Range, no sessions). Both record the same operations, so one
// linearizability checker judges either API.
import { ReadConsistency, type ProposeRequest, type ProposeResponse, type ReadResponse } from '@raftkv/proto';
import type { Input, Output, Value } from '../checker/index.js';
import type { Cluster } from './cluster.js';
import * as etcd from './etcd-calls.js';
import { unary } from './unary.js';

/** Exactly-once identity of a write: retries carry the same pair. */
export interface Session {
  readonly clientId: string;
  readonly sequence: number;
}

export type WriteInput = Exclude<Input, { f: 'read' }>;

export interface RegisterApi {
  readonly name: 'raftkv' | 'etcd';
  /** Whether writes can carry an exactly-once session (and so be retried after an indeterminate answer). */
  readonly sessions: boolean;
  /** A read of one key; `stale` = served from the node's local state (the harness's self-test). */
  read(node: number, key: string, deadline: number, stale: boolean): Promise<Output>;
  write(node: number, key: string, input: WriteInput, deadline: number, session?: Session): Promise<Output>;
}

const str = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('utf8');

export function raftkvApi(cluster: Cluster): RegisterApi {
  return {
    name: 'raftkv',
    sessions: true,
    async read(node, key, deadline, stale) {
      const consistency = stale ? ReadConsistency.READ_CONSISTENCY_STALE : ReadConsistency.READ_CONSISTENCY_LINEARIZABLE;
      const kv = cluster.kv[node]!;
      const r = await unary<ReadResponse>((md, cb) => kv.read({ key, consistency }, md, { deadline }, cb));
      return { f: 'read', value: r.found ? str(r.value) : null };
    },
    async write(node, key, input, deadline, session) {
      const clientId = session?.clientId ?? '';
      const sequence = session?.sequence ?? 0;
      let command: ProposeRequest['command'];
      switch (input.f) {
        case 'put':
          command = { $case: 'put', put: { key, value: Buffer.from(input.value) } };
          break;
        case 'delete':
          command = { $case: 'delete', delete: { key } };
          break;
        case 'cas': {
          const cas = {
            key,
            expectedValue: Buffer.from(input.expected ?? ''),
            expectAbsent: input.expected === null,
            newValue: Buffer.from(input.value),
          };
          command = { $case: 'compareAndSwap', compareAndSwap: cas };
          break;
        }
      }
      const kv = cluster.kv[node]!;
      const r = await unary<ProposeResponse>((md, cb) => kv.propose({ command, clientId, sequence }, md, { deadline }, cb));
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
    async read(node, key, deadline, stale) {
      const r = await etcd.range(cluster.etcd[node]!, Buffer.from(key), { serializable: stale }, deadline);
      return { f: 'read', value: value(r.kvs) };
    },
    async write(node, key, input, deadline) {
      const kv = cluster.etcd[node]!;
      const k = Buffer.from(key);
      switch (input.f) {
        case 'put': {
          const r = await etcd.put(kv, k, Buffer.from(input.value), deadline);
          return { f: 'put', previous: r.prevKv === undefined ? null : str(r.prevKv.value) };
        }
        case 'delete': {
          const r = await etcd.deleteKey(kv, k, deadline);
          return { f: 'delete', previous: value(r.prevKvs) };
        }
        case 'cas': {
          const compare = [etcd.valueIs(k, input.expected === null ? null : Buffer.from(input.expected))];
          const r = await etcd.txn(
            kv,
            { compare, success: [etcd.putOp(k, Buffer.from(input.value))], failure: [etcd.rangeOp(k)] },
            deadline,
          );
          return r.succeeded ? { f: 'cas', succeeded: true } : { f: 'cas', succeeded: false, current: value(etcd.rangeResult(r, 0)) };
        }
      }
    },
  };
}
