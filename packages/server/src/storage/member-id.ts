// The ids in etcd's response headers and membership. etcd's cluster_id and member ids are uint64;
// ts-proto maps them to JS numbers, so raftkv uses 53-bit values derived from its string ids: the
// first 53 bits of the sha-256 of the cluster id, and of `clusterId + '/' + memberId`. Stable forever:
// clients may keep them. One exception, so that a member added through etcd's MemberAdd can be started
// with the id etcdctl printed: the leader names such a member by a 53-bit number in [2^52, 2^53) in
// hex (14 digits, the first one 1; etcdctl prints ids with %x), and that number is its etcd id.
import { createHash } from 'node:crypto';

export interface HeaderIds {
  readonly clusterId: number;
  readonly memberId: number;
}

const id53 = (s: string): number => Number(createHash('sha256').update(s, 'utf8').digest().readBigUInt64BE(0) >> 11n);

const ALLOCATED = /^1[0-9a-f]{13}$/;

/** Whether `memberId` was allocated by etcd's MemberAdd (its etcd id is the number it spells). */
export const isAllocatedId = (memberId: string): boolean => ALLOCATED.test(memberId);

/** The etcd member id (uint64, below 2^53) of raftkv member `memberId`. */
export function etcdMemberId(clusterId: string, memberId: string): number {
  return isAllocatedId(memberId) ? Number.parseInt(memberId, 16) : id53(`${clusterId}/${memberId}`);
}

/** A new member id for etcd's MemberAdd from a random number in [0, 1) (the proposer's choice). */
export function allocateMemberId(random: number): string {
  return (2 ** 52 + Math.floor(random * 2 ** 52)).toString(16);
}

export function headerIds(clusterId: string, memberId: string): HeaderIds {
  return { clusterId: id53(clusterId), memberId: etcdMemberId(clusterId, memberId) };
}
