// etcd's check that a Txn neither puts one key twice nor puts a key it also deletes (v3rpc checkIntervals,
// 3.4), with its interval semantics: strings compared bytewise, an empty bound meaning +infinity, a put
// being the point [k, k+"\0"). Quirk kept on purpose: a delete with range_end "\0" is the interval
// [key, "\0"), which is empty, so it conflicts with nothing, as in etcd.
import type { etcdserverpb } from '@raftkv/proto';
import { duplicateKey } from './errors.js';

interface Interval {
  readonly begin: Buffer;
  readonly end: Buffer;
}

/** etcd's StringAffineComparable: bytewise, but the empty string is greater than everything. */
function affine(a: Buffer, b: Buffer): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

/** etcd's adt.Interval.Compare == 0: the intervals overlap. */
function overlaps(a: Interval, b: Interval): boolean {
  if (affine(a.begin, b.begin) < 0 && affine(a.end, b.begin) <= 0) return false;
  return affine(a.begin, b.end) < 0;
}

const point = (k: Buffer): Interval => ({ begin: k, end: Buffer.concat([k, Buffer.from([0])]) });
const ALL: Interval = { begin: Buffer.from([0]), end: Buffer.alloc(0) };

class Dels {
  readonly list: Interval[] = [];
  hits(k: Buffer): boolean {
    const p = point(k);
    return this.list.some((iv) => overlaps(p, iv));
  }
  /** etcd's Union(other, ["\0", "")): adds the other's intervals that overlap every non-empty key. */
  union(other: Dels): void {
    for (const iv of other.list) if (overlaps(ALL, iv)) this.list.push(iv);
  }
}

/** Throws etcd's "duplicate key given in txn request" when `ops` write a key twice. */
export function checkIntervals(ops: readonly etcdserverpb.RequestOp[]): void {
  collect(ops);
}

function collect(ops: readonly etcdserverpb.RequestOp[]): { puts: Set<string>; dels: Dels } {
  const dels = new Dels();
  for (const op of ops) {
    if (op.request?.$case !== 'requestDeleteRange') continue;
    const d = op.request.requestDeleteRange;
    dels.list.push(d.rangeEnd.length !== 0 ? { begin: d.key, end: d.rangeEnd } : point(d.key));
  }
  const puts = new Set<string>();
  const hex = (k: string): Buffer => Buffer.from(k, 'hex');
  for (const op of ops) {
    if (op.request?.$case !== 'requestTxn') continue;
    const then = collect(op.request.requestTxn.success);
    const otherwise = collect(op.request.requestTxn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || dels.hits(hex(k))) throw duplicateKey();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      // the same key in both branches is fine: only one of them runs
      if (puts.has(k) && !then.puts.has(k)) throw duplicateKey();
      if (dels.hits(hex(k))) throw duplicateKey();
      puts.add(k);
    }
    dels.union(then.dels);
    dels.union(otherwise.dels);
  }
  for (const op of ops) {
    if (op.request?.$case !== 'requestPut') continue;
    const k = op.request.requestPut.key;
    if (puts.has(k.toString('hex')) || dels.hits(k)) throw duplicateKey();
    puts.add(k.toString('hex'));
  }
  return { puts, dels };
}
