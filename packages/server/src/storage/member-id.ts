// The ids in etcd's response headers. etcd's cluster_id and member_id are uint64; ts-proto maps them
// to JS numbers, so raftkv derives 53-bit values from its string ids: the first 53 bits of the
// sha-256 of the cluster id, and of `clusterId + '/' + memberId`. Stable forever: clients may keep them.
import { createHash } from 'node:crypto';

export interface HeaderIds {
  readonly clusterId: number;
  readonly memberId: number;
}

const id53 = (s: string): number => Number(createHash('sha256').update(s, 'utf8').digest().readBigUInt64BE(0) >> 11n);

export function headerIds(clusterId: string, memberId: string): HeaderIds {
  return { clusterId: id53(clusterId), memberId: id53(`${clusterId}/${memberId}`) };
}
