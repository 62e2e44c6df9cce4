// The leader's lessor (etcd's lease/lessor.go, primary side): when each lease expires, on this node's
// monotonic clock, in memory only. Every node keeps one in step with the applied grants and revokes
// (storage/lease-store.ts's listener), but only the leader's ("primary") has expiries: a follower's
// leases never expire, it never decides to revoke. Keep-alives renew here, not through the log (as
// etcd). On promotion every lease gets its full TTL again plus the election's length (etcd's Promote
// without checkpoints): no lease expires because leadership moved. Pure: the clock is injected.
import { LeaseNotFoundError } from '../storage/mvcc/errors.js';
import type { LeaseListener, LeaseRow } from '../storage/lease-store.js';

/** Renewing or reading a TTL needs the leader's lessor; this one is not it (etcd's ErrNotPrimary). */
export class NotPrimaryError extends Error {
  override readonly name = 'NotPrimaryError';
  constructor() {
    super('not the primary lessor (not the leader)');
  }
}

export interface LessorOptions {
  /** Monotonic milliseconds (performance.now in the node, a fake in tests). */
  readonly now: () => number;
  /** Added to every TTL on promotion: how long the election that made this node leader may have taken. */
  readonly extendMs: number;
  /** A revoke proposed for an expired lease that is still there after this long is proposed again. */
  readonly retryMs?: number;
}

interface Lease {
  readonly ttl: number;
  /** When it expires on this node's clock; Infinity while this lessor is not primary. */
  expiry: number;
}

export interface TimeToLive {
  /** Whole seconds left (truncated, as etcd's int64(Remaining().Seconds())). */
  readonly ttl: number;
  readonly grantedTtl: number;
}

const DEFAULT_RETRY_MS = 3000; // etcd's expiredLeaseRetryInterval

export class Lessor implements LeaseListener {
  private readonly leases = new Map<number, Lease>();
  /** Expired leases whose revoke was proposed: not proposed again before the time given. */
  private readonly revoking = new Map<number, number>();
  private primary = false;

  constructor(private readonly o: LessorOptions) {}

  get isPrimary(): boolean {
    return this.primary;
  }
  get size(): number {
    return this.leases.size;
  }

  // ---- the applied state (LeaseListener) ----

  granted(id: number, ttl: number): void {
    this.leases.set(id, { ttl, expiry: this.primary ? this.o.now() + ttl * 1000 : Infinity });
  }

  revoked(id: number): void {
    this.leases.delete(id);
    this.revoking.delete(id);
  }

  reset(rows: readonly LeaseRow[]): void {
    this.leases.clear();
    this.revoking.clear();
    const extend = this.primary ? this.o.extendMs : 0;
    for (const r of rows) this.granted(r.id, r.ttl);
    if (extend > 0) for (const l of this.leases.values()) l.expiry += extend;
  }

  // ---- leadership ----

  /** This node became leader: every lease runs its full TTL again from now, plus extendMs. */
  promote(): void {
    this.primary = true;
    this.revoking.clear();
    const now = this.o.now();
    for (const l of this.leases.values()) l.expiry = now + this.o.extendMs + l.ttl * 1000;
  }

  /** Leadership lost: nothing expires here until the next promotion. */
  demote(): void {
    this.primary = false;
    this.revoking.clear();
    for (const l of this.leases.values()) l.expiry = Infinity;
  }

  // ---- the leader's answers ----

  /**
   * A keep-alive: the lease runs its full TTL again from now; answers the TTL. An expired lease whose
   * revoke is on its way is not renewed (it is answered as gone, as etcd answers after the revoke).
   */
  renew(id: number): number {
    if (!this.primary) throw new NotPrimaryError();
    const l = this.leases.get(id);
    const now = this.o.now();
    if (l === undefined || l.expiry <= now) throw new LeaseNotFoundError();
    l.expiry = now + l.ttl * 1000;
    return l.ttl;
  }

  /** The lease's remaining and granted TTL; undefined when there is no such lease. */
  timeToLive(id: number): TimeToLive | undefined {
    if (!this.primary) throw new NotPrimaryError();
    const l = this.leases.get(id);
    if (l === undefined) return undefined;
    return { ttl: Math.trunc((l.expiry - this.o.now()) / 1000), grantedTtl: l.ttl };
  }

  /** Every lease id: the soonest to expire first (etcd's Leases order), ties by id. */
  ids(): number[] {
    return [...this.leases.entries()].sort((a, b) => a[1].expiry - b[1].expiry || a[0] - b[0]).map(([id]) => id);
  }

  /**
   * Up to `limit` expired leases to revoke now (the caller proposes a revoke of each). Each is marked
   * as being revoked: not handed out again for retryMs, unless the revoke fails and the lease is still
   * here then. Empty unless primary.
   */
  expired(limit: number): number[] {
    if (!this.primary || limit <= 0) return [];
    const now = this.o.now();
    const out: number[] = [];
    for (const [id, l] of this.leases) {
      if (l.expiry > now) continue;
      const retryAt = this.revoking.get(id);
      if (retryAt !== undefined && retryAt > now) continue;
      this.revoking.set(id, now + (this.o.retryMs ?? DEFAULT_RETRY_MS));
      out.push(id);
      if (out.length >= limit) break;
    }
    return out;
  }
}
