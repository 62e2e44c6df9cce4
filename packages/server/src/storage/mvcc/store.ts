// etcd's MVCC key-value store (3.4 semantics) over the node's SQLite database. Deterministic: the same
// requests in the same order give every replica the same rows and the same answers. A failed request
// changes nothing: Put, DeleteRange and Compact make every check that can refuse them before their first
// row is written, and a Txn (whose ops may still refuse mid-way) runs in a savepoint of its own. Writes
// run inside the caller's transaction when there is one (the Ready's), else in one of their own.
import type { etcdserverpb } from '@raftkv/proto';
import type { Db } from '../db.js';
import { ChangeLog } from './changes.js';
import { Compactor } from './compaction.js';
import { ByteBudget, LeaseNotFoundError } from './errors.js';
import { HistoryReader } from './history.js';
import type { KeyRange } from './key-range.js';
import type { KvRow } from './kv-row.js';
import { range } from './range.js';
import { LeaseKeys } from './lease-keys.js';
import { KvReader } from './reader.js';
import { RevisionCounters } from './revisions.js';
import { applyPlan, checkPlan, isReadOnly, plan, type TxnContext } from './txn.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from './validation.js';
import { MvccWriteStatements, WriteTxn } from './write-txn.js';
import { applyDeleteRange, applyPut, header } from './writes.js';

export interface MvccStoreOptions {
  /** Whether a lease exists (the lease table, lease-store.ts). Default: none does, so a Put with a lease fails as in etcd. */
  readonly leaseExists?: (id: number) => boolean;
}

const NO_KEY = Buffer.from([0]);

export class MvccStore {
  private readonly reader: KvReader;
  private readonly writes: MvccWriteStatements;
  private readonly compactor: Compactor;
  private readonly revs: RevisionCounters;
  private readonly leaseExists: (id: number) => boolean;
  private readonly historyReader: HistoryReader;
  /** The rows of the writes applied since the watch hub last took them. */
  readonly changes = new ChangeLog();
  private readonly leaseKeys: LeaseKeys;
  /** Built once: better-sqlite3's wrapper is BEGIN..COMMIT outside a transaction, a savepoint inside one. */
  private readonly inTx: <T>(f: () => T) => T;

  constructor(
    private readonly db: Db,
    options: MvccStoreOptions = {},
  ) {
    this.reader = new KvReader(db);
    this.writes = new MvccWriteStatements(db);
    this.compactor = new Compactor(db);
    this.revs = new RevisionCounters(db);
    this.historyReader = new HistoryReader(db);
    this.leaseExists = options.leaseExists ?? (() => false);
    this.leaseKeys = new LeaseKeys(db, this.reader);
    const tx = db.transaction((f: () => unknown) => f());
    this.inTx = <T>(f: () => T): T => tx(f) as T;
  }

  /** Re-reads the revision counters: after something else replaced the tables (a snapshot's install). */
  reload(): void {
    this.revs.load();
  }

  /** The store's revision: 1 when empty, +1 per write. */
  currentRevision(): number {
    return this.revs.current;
  }

  /** The last compaction's revision, -1 before the first. */
  compactedRevision(): number {
    return this.revs.compacted;
  }

  /** The live value of `key` now (raftkv.v1's Read, and its commands' previous values). */
  value(key: Buffer): Buffer | undefined {
    return this.reader.live(key, this.revs.current)?.value;
  }

  /** How many keys are live now (SQLite counts them). */
  liveKeys(): number {
    return this.reader.count({ kind: 'from', key: NO_KEY }, this.revs.current);
  }

  /** The writes to `range` with from <= revision <= to, oldest first, at most `limit` (a watcher's catch-up). */
  history(range: KeyRange, from: number, to: number, limit: number): KvRow[] {
    return this.historyReader.writes(range, from, to, limit);
  }

  /** The live row of `key` at `rev` (a watch event's prev_kv: the key just before the event). */
  liveAt(key: Buffer, rev: number): KvRow | undefined {
    return this.reader.live(key, rev);
  }

  /** `maxBytes`: fail with RangeTooLargeError rather than hold a larger answer (0: no bound). */
  range(r: etcdserverpb.RangeRequest, maxBytes = 0): etcdserverpb.RangeResponse {
    validateRange(r);
    return range(this.reader, r, this.revs.current, this.revs.compacted, maxBytes > 0 ? new ByteBudget(maxBytes) : undefined);
  }

  put(p: etcdserverpb.PutRequest): etcdserverpb.PutResponse {
    validatePut(p);
    if (p.lease !== 0 && !this.leaseExists(p.lease)) throw new LeaseNotFoundError();
    // applyPut refuses (ignore_value / ignore_lease without a key) before it writes.
    return this.write((w) => applyPut(w, this.reader, p));
  }

  /**
   * raftkv.v1's put: `value` at `key` with no lease, as a Put of etcd's, answering the value it replaced.
   * The caller has checked the key (raftkv.v1's own rules: never empty).
   */
  putValue(key: Buffer, value: Buffer): { readonly previous: Buffer | undefined } {
    const prev = this.reader.live(key, this.revs.current);
    this.write((w) => w.put(key, value, 0, prev));
    return { previous: prev?.value };
  }

  /** raftkv.v1's delete of one key, as a DeleteRange of it; answers the value deleted. */
  deleteKey(key: Buffer): { readonly previous: Buffer | undefined } {
    const prev = this.reader.live(key, this.revs.current);
    if (prev !== undefined) this.write((w) => w.deleteRange({ kind: 'single', key }));
    return { previous: prev?.value };
  }

  deleteRange(d: etcdserverpb.DeleteRangeRequest): etcdserverpb.DeleteRangeResponse {
    validateDeleteRange(d);
    // Nothing in a DeleteRange refuses once validated.
    return this.write((w) => applyDeleteRange(w, this.reader, d));
  }

  /** The live keys attached to `lease` now, in key order. */
  keysOfLease(lease: number): Buffer[] {
    return this.leaseKeys.keys(lease, this.revs.current);
  }

  /**
   * Deletes every key attached to `lease` at ONE revision (none when it has no keys), as etcd's lessor
   * Revoke does in one TxnWrite. Answers the store's revision after it.
   */
  deleteLeaseKeys(lease: number): number {
    const keys = this.keysOfLease(lease);
    if (keys.length === 0) return this.revs.current;
    return this.write((w) => {
      for (const key of keys) w.deleteRange({ kind: 'single', key });
      return this.revs.current + 1;
    });
  }

  /** `maxBytes` bounds the answer of a read-only Txn (as `range`); the apply path never sets it. */
  txn(t: etcdserverpb.TxnRequest, maxBytes = 0): etcdserverpb.TxnResponse {
    validateTxn(t);
    const current = this.revs.current;
    const budget = maxBytes > 0 ? new ByteBudget(maxBytes) : undefined;
    const ctx: TxnContext = { reader: this.reader, current, compacted: this.revs.compacted, leaseExists: this.leaseExists, budget };
    const p = plan(this.reader, current, t);
    checkPlan(ctx, p, !isReadOnly(t));
    // checkPlan catches what etcd checks up front, but an op may still refuse after earlier ones wrote: a
    // savepoint (or a transaction) of its own undoes them.
    return this.inTx(() => {
      const w = new WriteTxn(current, this.reader, this.writes);
      const resp = applyPlan(w, ctx, p);
      const revision = this.end(w);
      return { ...resp, header: header(revision) };
    });
  }

  compact(c: etcdserverpb.CompactionRequest): etcdserverpb.CompactionResponse {
    const { current, compacted } = this.revs;
    // The compactor refuses before it writes.
    this.atomically(() => this.compactor.compact(c.revision, current, compacted));
    this.revs.compacted = c.revision;
    return { header: header(current) };
  }

  private write<T>(f: (w: WriteTxn) => T): T {
    return this.atomically(() => {
      const w = new WriteTxn(this.revs.current, this.reader, this.writes);
      const resp = f(w);
      this.end(w);
      return resp;
    });
  }

  /** Ends `w`, writing the revision through; the in-memory counter moves only once the rows are in. */
  private end(w: WriteTxn): number {
    const revision = w.end();
    this.revs.current = revision;
    this.changes.add(w.rows);
    return revision;
  }

  /**
   * Runs `f` atomically: inside the caller's transaction as is (an error from SQLite aborts that whole
   * transaction; the node then stops), else in a transaction of its own.
   */
  private atomically<T>(f: () => T): T {
    return this.db.inTransaction ? f() : this.inTx(f);
  }
}
