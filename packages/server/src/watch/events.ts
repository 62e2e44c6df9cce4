// A watcher's view of the MVCC rows: which rows it wants (its key range, its filters) and the events
// etcd 3.4 makes of them (a tombstone is a DELETE whose kv holds the key and the deletion's revision).
import { etcdserverpb, mvccpb } from '@raftkv/proto';
import type { KeyRange } from '../storage/mvcc/key-range.js';
import { toKeyValue, type KvRow } from '../storage/mvcc/kv-row.js';

export interface WatchFilters {
  readonly noPut: boolean;
  readonly noDelete: boolean;
}

export function filtersOf(types: readonly etcdserverpb.WatchCreateRequest_FilterType[]): WatchFilters {
  return {
    noPut: types.includes(etcdserverpb.WatchCreateRequest_FilterType.NOPUT),
    noDelete: types.includes(etcdserverpb.WatchCreateRequest_FilterType.NODELETE),
  };
}

export function inRange(r: KeyRange, key: Buffer): boolean {
  switch (r.kind) {
    case 'single':
      return r.key.equals(key);
    case 'from':
      return Buffer.compare(key, r.key) >= 0;
    case 'range':
      return Buffer.compare(key, r.key) >= 0 && Buffer.compare(key, r.end) < 0;
  }
}

export const passes = (f: WatchFilters, row: KvRow): boolean => (row.tombstone === 0 ? !f.noPut : !f.noDelete);

export function toEvent(row: KvRow): mvccpb.Event {
  if (row.tombstone === 0) return { type: mvccpb.Event_EventType.PUT, kv: toKeyValue(row) };
  const kv: mvccpb.KeyValue = { key: row.key, createRevision: 0, modRevision: row.main, version: 0, value: Buffer.alloc(0), lease: 0 };
  return { type: mvccpb.Event_EventType.DELETE, kv };
}

/** etcd's isCreateEvent: a put that created the key has no previous pair to report. */
export const isCreate = (row: KvRow): boolean => row.tombstone === 0 && row.create_rev === row.main;
