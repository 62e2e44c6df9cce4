// etcd's backend quota (etcdserver/quota.go): what a write costs against --quota-backend-bytes, and
// whether the database has room for it. The size is the database's pages in use (free pages excluded:
// SQLite reuses them, so compaction alone makes room; a VACUUM also shrinks the file). The check runs on
// the proposer, never inside apply (sizes differ between nodes); apply only obeys the replicated alarm.
import type { etcdserverpb } from '@raftkv/proto';
import type { Db } from './db.js';

/** etcd's estimate of a key's metadata and of a lease's record. */
const KV_OVERHEAD = 256;
export const LEASE_OVERHEAD = 64;

export const costPut = (r: { key: Uint8Array; value: Uint8Array }): number => KV_OVERHEAD + r.key.length + r.value.length;

/** etcd's costTxn: the larger of the branches' top-level puts (deletes and ranges cost nothing). */
export function costTxn(r: etcdserverpb.TxnRequest): number {
  const branch = (ops: readonly etcdserverpb.RequestOp[]): number =>
    ops.reduce((sum, op) => sum + (op.request?.$case === 'requestPut' ? costPut(op.request.requestPut) : 0), 0);
  return Math.max(branch(r.success), branch(r.failure));
}

/** How long a measured size is trusted for the common case (far below the quota). */
const MEASURE_EVERY_MS = 250;

export class BackendQuota {
  private readonly pages;
  /** The last measured size, when, and the cost admitted since: a bound on the size now. */
  private measured = 0;
  private measuredAt = -Infinity;
  private admittedSince = 0;

  constructor(
    db: Db,
    /** --quota-backend-bytes; 0 or less: no quota (etcd: negative disables it). */
    readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    this.pages = db.prepare<[], [number, number, number]>(
      'SELECT p.page_count, f.freelist_count, s.page_size FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s',
    );
    this.pages.raw();
  }

  /** Bytes of the database in use (etcd's backend Size, less the free pages), measured now. */
  usedBytes(): number {
    const [count, free, size] = this.pages.get()!;
    this.measured = (count - free) * size;
    this.measuredAt = this.now();
    this.admittedSince = 0;
    return this.measured;
  }

  /**
   * etcd's Available: a write that costs nothing always fits; otherwise size + cost must stay below the
   * quota. Measuring costs a query (5 % of a busy leader's time when done per write), so a recent
   * measurement plus every cost admitted since stands in for it while that sum fits; near the quota, or
   * once the measurement is old, the size is measured again.
   */
  available(cost: number): boolean {
    if (cost === 0 || this.maxBytes <= 0) return true;
    const fresh = this.now() - this.measuredAt < MEASURE_EVERY_MS;
    if (!fresh || this.measured + this.admittedSince + cost >= this.maxBytes) this.usedBytes();
    if (this.measured + this.admittedSince + cost >= this.maxBytes) return false;
    this.admittedSince += cost;
    return true;
  }
}
