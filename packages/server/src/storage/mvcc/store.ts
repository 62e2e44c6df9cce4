// etcd's MVCC key-value store (3.4 semantics) over the node's SQLite database. Deterministic: the same
// requests in the same order give every replica the same rows and the same answers. The write methods
// run in a transaction of their own (a savepoint inside the caller's), so a failed request changes nothing.
import type { etcdserverpb } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import { Compactor } from './compaction.js';
import { ByteBudget, LeaseNotFoundError } from './errors.js';
import { range } from './range.js';
import { KvReader } from './reader.js';
import { ensureMvccTables } from './schema.js';
import { applyPlan, checkPlan, isReadOnly, plan, type TxnContext } from './txn.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from './validation.js';
import { MvccWriteStatements, WriteTxn } from './write-txn.js';
import { applyDeleteRange, applyPut } from './writes.js';

export interface MvccStoreOptions {
  /** Whether a lease exists (leases are not kept here yet). Default: none does, so a Put with a lease fails as in etcd. */
  readonly leaseExists?: (id: number) => boolean;
}

interface Meta {
  readonly current_rev: number;
  readonly compact_rev: number;
}

export class MvccStore {
  private readonly reader: KvReader;
  private readonly writes: MvccWriteStatements;
  private readonly compactor: Compactor;
  private readonly metaStmt: Statement<[], Meta>;
  private readonly leaseExists: (id: number) => boolean;

  constructor(
    private readonly db: Db,
    options: MvccStoreOptions = {},
  ) {
    ensureMvccTables(db);
    this.reader = new KvReader(db);
    this.writes = new MvccWriteStatements(db);
    this.compactor = new Compactor(db);
    this.metaStmt = db.prepare('SELECT current_rev, compact_rev FROM mvcc_meta WHERE id = 0');
    this.leaseExists = options.leaseExists ?? (() => false);
  }

  /** The store's revision: 1 when empty, +1 per write. */
  currentRevision(): number {
    return this.meta().current_rev;
  }

  /** The last compaction's revision, -1 before the first. */
  compactedRevision(): number {
    return this.meta().compact_rev;
  }

  /** The live value of `key` now (raftkv.v1's Read, and its commands' previous values). */
  value(key: Buffer): Buffer | undefined {
    return this.reader.live(key, this.meta().current_rev)?.value;
  }

  /** How many keys are live now (SQLite counts them). */
  liveKeys(): number {
    return this.reader.count({ kind: 'from', key: Buffer.from([0]) }, this.meta().current_rev);
  }

  /** `maxBytes`: fail with RangeTooLargeError rather than hold a larger answer (0: no bound). */
  range(r: etcdserverpb.RangeRequest, maxBytes = 0): etcdserverpb.RangeResponse {
    validateRange(r);
    const m = this.meta();
    return range(this.reader, r, m.current_rev, m.compact_rev, maxBytes > 0 ? new ByteBudget(maxBytes) : undefined);
  }

  put(p: etcdserverpb.PutRequest): etcdserverpb.PutResponse {
    validatePut(p);
    if (p.lease !== 0 && !this.leaseExists(p.lease)) throw new LeaseNotFoundError();
    return this.write((w) => applyPut(w, this.reader, p));
  }

  deleteRange(d: etcdserverpb.DeleteRangeRequest): etcdserverpb.DeleteRangeResponse {
    validateDeleteRange(d);
    return this.write((w) => applyDeleteRange(w, this.reader, d));
  }

  /** `maxBytes` bounds the answer of a read-only Txn (as `range`); the apply path never sets it. */
  txn(t: etcdserverpb.TxnRequest, maxBytes = 0): etcdserverpb.TxnResponse {
    validateTxn(t);
    const m = this.meta();
    const budget = maxBytes > 0 ? new ByteBudget(maxBytes) : undefined;
    const ctx: TxnContext = { reader: this.reader, current: m.current_rev, compacted: m.compact_rev, leaseExists: this.leaseExists, budget };
    const p = plan(this.reader, m.current_rev, t);
    checkPlan(ctx, p, !isReadOnly(t));
    return this.db.transaction(() => {
      const w = new WriteTxn(m.current_rev, this.reader, this.writes);
      const resp = applyPlan(w, ctx, p);
      return { ...resp, header: { clusterId: 0, memberId: 0, revision: w.end(), raftTerm: 0 } };
    })();
  }

  compact(c: etcdserverpb.CompactionRequest): etcdserverpb.CompactionResponse {
    const m = this.meta();
    this.db.transaction(() => this.compactor.compact(c.revision, m.current_rev, m.compact_rev))();
    return { header: { clusterId: 0, memberId: 0, revision: m.current_rev, raftTerm: 0 } };
  }

  private write<T>(f: (w: WriteTxn) => T): T {
    return this.db.transaction(() => {
      const w = new WriteTxn(this.meta().current_rev, this.reader, this.writes);
      const resp = f(w);
      w.end();
      return resp;
    })();
  }

  private meta(): Meta {
    const m = this.metaStmt.get();
    if (m === undefined) throw new Error('mvcc_meta has no row: ensureMvccTables did not run');
    return m;
  }
}
