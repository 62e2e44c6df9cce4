// The keys attached to a lease, as etcd's lessor itemSet, derived from mvcc_kv instead of kept beside it:
// a key is attached to lease L when its live row carries L (a Put with another lease, or none, or a
// delete detaches it). The partial index mvcc_kv_by_lease (schema.ts) finds the candidate keys; each is
// checked against its live row.
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { KvReader } from './reader.js';

export class LeaseKeys {
  // `lease != 0` repeats the partial index's condition so SQLite may use it with a bound parameter.
  private readonly candidates: Statement<[number], Buffer>;

  constructor(
    db: Db,
    private readonly reader: KvReader,
  ) {
    this.candidates = db.prepare<[number], Buffer>('SELECT DISTINCT key FROM mvcc_kv WHERE lease = ? AND lease != 0 ORDER BY key').pluck();
  }

  /** The live keys attached to `lease` at `rev`, in key order (the order etcd's Revoke deletes them in). */
  keys(lease: number, rev: number): Buffer[] {
    const out: Buffer[] = [];
    // all() first: the connection runs no other statement while a cursor is open.
    for (const key of this.candidates.all(lease)) if (this.reader.live(key, rev)?.lease === lease) out.push(key);
    return out;
  }
}
