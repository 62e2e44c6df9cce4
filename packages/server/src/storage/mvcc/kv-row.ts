// A row of mvcc_kv and its KeyValue.
import type { mvccpb } from '@raftkv/proto';

export interface KvRow {
  readonly key: Buffer;
  readonly main: number;
  readonly sub: number;
  readonly create_rev: number;
  readonly version: number;
  readonly lease: number;
  readonly value: Buffer;
  readonly tombstone: number;
}

export const KV_COLUMNS = 'key, main, sub, create_rev, version, lease, value, tombstone';

export function toKeyValue(r: KvRow): mvccpb.KeyValue {
  return { key: r.key, createRevision: r.create_rev, modRevision: r.main, version: r.version, value: r.value, lease: r.lease };
}
