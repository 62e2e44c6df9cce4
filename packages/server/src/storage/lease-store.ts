// The leases of the replicated state (etcd's lease bucket): which exist and the TTL each was granted.
// Granting and revoking are applied from the log like any write, deterministically: the proposer chose
// the id and applied the minimum TTL rule, so the entry says everything. When a lease expires is NOT
// state: the leader's lessor (node/lessor.ts) decides it on its own clock and proposes a revoke; the
// listener keeps that lessor in step with what was applied.
import type { etcdserverpb } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { LeaseExistsError, LeaseTtlTooLargeError, MAX_LEASE_TTL } from './lease-errors.js';
import { LeaseNotFoundError } from './mvcc/errors.js';
import type { MvccStore } from './mvcc/store.js';
import { header } from './mvcc/writes.js';

export interface LeaseRow {
  readonly id: number;
  /** The granted TTL, in seconds. */
  readonly ttl: number;
}

/** Told of every applied grant and revoke (inside the applying transaction), and after a snapshot replaced the table. */
export interface LeaseListener {
  granted(id: number, ttl: number): void;
  revoked(id: number): void;
  reset(leases: readonly LeaseRow[]): void;
}

export class LeaseStore {
  private readonly getStmt: Statement<[number], number>;
  private readonly insertStmt: Statement<[number, number]>;
  private readonly deleteStmt: Statement<[number]>;
  private readonly allStmt: Statement<[], LeaseRow>;

  constructor(
    db: Db,
    private readonly listener: LeaseListener | null = null,
  ) {
    this.getStmt = db.prepare<[number], number>('SELECT ttl FROM leases WHERE id = ?').pluck();
    this.insertStmt = db.prepare('INSERT INTO leases (id, ttl) VALUES (?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM leases WHERE id = ?');
    this.allStmt = db.prepare<[], LeaseRow>('SELECT id, ttl FROM leases ORDER BY id');
  }

  exists(id: number): boolean {
    return this.getStmt.get(id) !== undefined;
  }

  /** The granted TTL of lease `id`, undefined when there is no such lease. */
  ttl(id: number): number | undefined {
    return this.getStmt.get(id);
  }

  list(): LeaseRow[] {
    return this.allStmt.all();
  }

  /** After a snapshot replaced the table: the listener starts over from it. */
  reload(): void {
    this.listener?.reset(this.list());
  }

  /** etcd's applierV3 LeaseGrant (lessor.Grant): refusals first, nothing written on one. */
  grant(r: etcdserverpb.LeaseGrantRequest, kv: MvccStore): etcdserverpb.LeaseGrantResponse {
    if (r.ID === 0) throw new LeaseNotFoundError(); // the proposer always chooses one
    if (r.TTL > MAX_LEASE_TTL) throw new LeaseTtlTooLargeError();
    if (this.exists(r.ID)) throw new LeaseExistsError();
    this.insertStmt.run(r.ID, r.TTL);
    this.listener?.granted(r.ID, r.TTL);
    return { header: header(kv.currentRevision()), ID: r.ID, TTL: r.TTL, error: '' };
  }

  /** etcd's lessor.Revoke: the lease's keys go at one revision, with the lease, in the same transaction. */
  revoke(r: etcdserverpb.LeaseRevokeRequest, kv: MvccStore): etcdserverpb.LeaseRevokeResponse {
    if (!this.exists(r.ID)) throw new LeaseNotFoundError();
    const revision = kv.deleteLeaseKeys(r.ID);
    this.deleteStmt.run(r.ID);
    this.listener?.revoked(r.ID);
    return { header: header(revision) };
  }
}
