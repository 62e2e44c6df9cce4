// The MVCC store's tables are declared in the node's schema module (../schema.ts, state tables, so
// snapshots and the digest carry them); this creates them on a bare database (the store's own tests).
import type { Db } from '../db.js';
import { createTableSql, TABLES } from '../schema.js';

export const MVCC_TABLE_NAMES = ['mvcc_kv', 'mvcc_meta'] as const;

/** Creates the MVCC tables when missing and seeds the revision counters of an empty store. */
export function ensureMvccTables(db: Db): void {
  for (const t of TABLES) {
    if (!(MVCC_TABLE_NAMES as readonly string[]).includes(t.name)) continue;
    db.exec(createTableSql(t));
    if (t.seed !== undefined) db.exec(t.seed);
  }
}
