// A Txn compare, as etcd's applyCompare: every live key of the compare's range must pass; an absent key
// compares as the zero KeyValue, except that a VALUE compare on an absent key always fails.
import { etcdserverpb, type mvccpb } from '@raftkv/proto';
import { keyRange } from './key-range.js';
import { toKeyValue } from './kv-row.js';
import type { KvReader } from './reader.js';

const { Target, Result } = { Target: etcdserverpb.Compare_CompareTarget, Result: etcdserverpb.Compare_CompareResult };

const ZERO: mvccpb.KeyValue = { key: Buffer.alloc(0), createRevision: 0, modRevision: 0, version: 0, value: Buffer.alloc(0), lease: 0 };

export function applyCompare(reader: KvReader, rev: number, c: etcdserverpb.Compare): boolean {
  let found = false;
  for (const row of reader.scan(keyRange(c.key, c.rangeEnd), rev)) {
    found = true;
    if (!compareKv(c, toKeyValue(row))) return false;
  }
  if (found) return true;
  return c.target === Target.VALUE ? false : compareKv(c, ZERO);
}

function compareKv(c: etcdserverpb.Compare, kv: mvccpb.KeyValue): boolean {
  const u = c.targetUnion;
  let result: number;
  switch (c.target) {
    case Target.VALUE:
      result = Buffer.compare(kv.value, u?.$case === 'value' ? u.value : Buffer.alloc(0));
      break;
    case Target.CREATE:
      result = sign(kv.createRevision - (u?.$case === 'createRevision' ? u.createRevision : 0));
      break;
    case Target.MOD:
      result = sign(kv.modRevision - (u?.$case === 'modRevision' ? u.modRevision : 0));
      break;
    case Target.VERSION:
      result = sign(kv.version - (u?.$case === 'version' ? u.version : 0));
      break;
    case Target.LEASE:
      result = sign(kv.lease - (u?.$case === 'lease' ? u.lease : 0));
      break;
    default:
      result = 0;
  }
  switch (c.result) {
    case Result.EQUAL:
      return result === 0;
    case Result.NOT_EQUAL:
      return result !== 0;
    case Result.GREATER:
      return result > 0;
    case Result.LESS:
      return result < 0;
    default:
      return true;
  }
}

const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);
