// One write at the next revision, as etcd's storeTxnWrite: every put or delete inside it gets main =
// begin + 1 and the next sub-revision; reads inside it see its own writes; the store's revision moves
// only if something was written.
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { KeyRange } from './key-range.js';
import type { KvRow } from './kv-row.js';
import type { KvReader } from './reader.js';

export class MvccWriteStatements {
  readonly insert: Statement<[Buffer, number, number, number, number, number, Buffer, number]>;
  readonly setRevision: Statement<[number]>;

  constructor(db: Db) {
    this.insert = db.prepare(
      'INSERT INTO mvcc_kv (key, main, sub, create_rev, version, lease, value, tombstone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.setRevision = db.prepare('UPDATE mvcc_meta SET current_rev = ? WHERE id = 0');
  }
}

const EMPTY = Buffer.alloc(0);

export class WriteTxn {
  private changes = 0;
  /** The rows this write inserted, in (main, sub) order: the revision's watch events (watch/). */
  readonly rows: KvRow[] = [];

  constructor(
    readonly beginRev: number,
    private readonly reader: KvReader,
    private readonly stmts: MvccWriteStatements,
  ) {}

  /** The revision reads inside this write see: its own writes once it has made any. */
  readRev(): number {
    return this.changes > 0 ? this.beginRev + 1 : this.beginRev;
  }

  wrote(): boolean {
    return this.changes > 0;
  }

  /**
   * Puts `key`; returns the revision of the write (etcd's TxnWrite.Put). `prev`: the key's live row as this
   * write sees it (`reader.live(key, readRev())`), which every caller has read already.
   */
  put(key: Buffer, value: Buffer, lease: number, prev: KvRow | undefined): number {
    const rev = this.beginRev + 1;
    const create = prev === undefined ? rev : prev.create_rev;
    const version = (prev?.version ?? 0) + 1;
    const sub = this.changes++;
    this.stmts.insert.run(key, rev, sub, create, version, lease, value, 0);
    this.rows.push({ key, main: rev, sub, create_rev: create, version, lease, value, tombstone: 0 });
    return rev;
  }

  /** Deletes the live keys of `range`; returns how many and the revision etcd's TxnWrite.DeleteRange reports. */
  deleteRange(range: KeyRange): { deleted: number; revision: number } {
    const rev = this.beginRev + 1;
    let deleted = 0;
    // The scan is a sequence of index seeks with no open cursor, so the tombstones can go in as it walks.
    for (const r of this.reader.scan(range, this.readRev())) {
      const sub = this.changes++;
      this.stmts.insert.run(r.key, rev, sub, 0, 0, 0, EMPTY, 1);
      this.rows.push({ key: r.key, main: rev, sub, create_rev: 0, version: 0, lease: 0, value: EMPTY, tombstone: 1 });
      deleted++;
    }
    return { deleted, revision: deleted > 0 || this.changes > 0 ? rev : this.beginRev };
  }

  /** Ends the write: advances the store's revision when anything was written. Returns the revision after it. */
  end(): number {
    if (this.changes === 0) return this.beginRev;
    this.stmts.setRevision.run(this.beginRev + 1);
    return this.beginRev + 1;
  }
}
