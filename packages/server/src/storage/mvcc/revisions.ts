// The store's revision counters (mvcc_meta), kept in memory and written through: every request needs
// them, and reading the row each time cost more than the write itself. Loaded at open and re-loaded when
// the tables are replaced underneath (a snapshot's install).
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';

interface MetaRow {
  readonly current_rev: number;
  readonly compact_rev: number;
}

export class RevisionCounters {
  /** The store's revision: 1 when empty. */
  current = 1;
  /** The last compaction's revision, -1 before the first. */
  compacted = -1;
  private readonly select: Statement<[], MetaRow>;

  constructor(db: Db) {
    this.select = db.prepare('SELECT current_rev, compact_rev FROM mvcc_meta WHERE id = 0');
    this.load();
  }

  load(): void {
    const m = this.select.get();
    if (m === undefined) throw new Error('mvcc_meta has no row: the schema module (storage/schema.ts) did not run on this database');
    this.current = m.current_rev;
    this.compacted = m.compact_rev;
  }
}
