// The MVCC store's tables. Every table it uses is declared here and nowhere else, so the node's schema
// module can adopt this list as it is.
import type { Db } from '../db.js';

export interface TableDdl {
  readonly name: string;
  readonly ddl: string;
}

export const MVCC_TABLES: readonly TableDdl[] = [
  {
    name: 'mvcc_kv',
    // One row per revision of a key: a put, or a tombstone (a delete). Keys are BLOBs, so SQLite orders
    // them bytewise (memcmp, then length), as etcd does. The primary key (key, main, sub) serves both
    // "the next distinct key after k" and "the latest revision of k at or below R" as index seeks.
    ddl: `CREATE TABLE IF NOT EXISTS mvcc_kv (
  key        BLOB NOT NULL,
  main       INTEGER NOT NULL,   -- revision of this write
  sub        INTEGER NOT NULL,   -- its position among the writes of that revision (a Txn's ops)
  create_rev INTEGER NOT NULL,   -- 0 on a tombstone
  version    INTEGER NOT NULL,   -- 0 on a tombstone
  lease      INTEGER NOT NULL,
  value      BLOB NOT NULL,
  tombstone  INTEGER NOT NULL,   -- 1: the key was deleted at (main, sub)
  PRIMARY KEY (key, main, sub)
) WITHOUT ROWID`,
  },
  {
    name: 'mvcc_meta',
    ddl: `CREATE TABLE IF NOT EXISTS mvcc_meta (
  id           INTEGER PRIMARY KEY CHECK (id = 0),
  current_rev  INTEGER NOT NULL,  -- 1 on an empty store, as etcd
  compact_rev  INTEGER NOT NULL   -- -1 until the first compaction, as etcd's compactMainRev
)`,
  },
];

/** Creates the MVCC tables when missing and seeds the revision counters of an empty store. */
export function ensureMvccTables(db: Db): void {
  for (const t of MVCC_TABLES) db.exec(t.ddl);
  db.prepare('INSERT OR IGNORE INTO mvcc_meta (id, current_rev, compact_rev) VALUES (0, 1, -1)').run();
}
