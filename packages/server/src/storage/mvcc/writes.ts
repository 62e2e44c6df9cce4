// Put and DeleteRange inside a write, as etcd's applierV3backend Put/DeleteRange with a TxnWrite.
import type { etcdserverpb, mvccpb } from '@raftkv/proto';
import { keyNotFound } from './errors.js';
import { keyRange } from './key-range.js';
import { toKeyValue } from './kv-row.js';
import type { KvReader } from './reader.js';
import type { WriteTxn } from './write-txn.js';

export const header = (revision: number): etcdserverpb.ResponseHeader => ({ clusterId: 0, memberId: 0, revision, raftTerm: 0 });

export function applyPut(w: WriteTxn, reader: KvReader, p: etcdserverpb.PutRequest): etcdserverpb.PutResponse {
  let value = p.value;
  let lease = p.lease;
  let prevKv: mvccpb.KeyValue | undefined;
  const prev = reader.live(p.key, w.readRev());
  // ignore_value and ignore_lease keep the previous pair's: there must be one.
  if ((p.ignoreValue || p.ignoreLease) && prev === undefined) throw keyNotFound();
  if (prev !== undefined) {
    if (p.ignoreValue) value = prev.value;
    if (p.ignoreLease) lease = prev.lease;
    if (p.prevKv) prevKv = toKeyValue(prev);
  }
  const revision = w.put(p.key, value, lease, prev);
  return prevKv === undefined ? { header: header(revision) } : { header: header(revision), prevKv };
}

export function applyDeleteRange(w: WriteTxn, reader: KvReader, d: etcdserverpb.DeleteRangeRequest): etcdserverpb.DeleteRangeResponse {
  const range = keyRange(d.key, d.rangeEnd);
  const prevKvs = d.prevKv ? [...reader.scan(range, w.readRev())].map(toKeyValue) : [];
  const { deleted, revision } = w.deleteRange(range);
  return { header: header(revision), deleted, prevKvs };
}
