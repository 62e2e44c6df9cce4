// Compaction as etcd's: compacting at R forgets every write at or below R except, for each key, the latest
// one when it is not a tombstone, so reads at R and later still answer the same; reads below R fail.
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import { CompactedError, FutureRevisionError } from './errors.js';

export class Compactor {
  private readonly forget: Statement<{ rev: number }>;
  private readonly setCompacted: Statement<[number]>;

  constructor(db: Db) {
    // A write at or below R goes when it is a tombstone or a later write at or below R supersedes it.
    this.forget = db.prepare(
      'DELETE FROM mvcc_kv WHERE main <= :rev AND (tombstone = 1 OR EXISTS (SELECT 1 FROM mvcc_kv n WHERE n.key = mvcc_kv.key ' +
        'AND n.main <= :rev AND (n.main > mvcc_kv.main OR (n.main = mvcc_kv.main AND n.sub > mvcc_kv.sub))))',
    );
    this.setCompacted = db.prepare('UPDATE mvcc_meta SET compact_rev = ? WHERE id = 0');
  }

  /** Compacts at `rev`; etcd refuses a revision at or below the last compaction, or above the current one. */
  compact(rev: number, current: number, compacted: number): void {
    if (rev <= compacted) throw new CompactedError();
    if (rev > current) throw new FutureRevisionError();
    this.setCompacted.run(rev);
    this.forget.run({ rev });
  }
}
