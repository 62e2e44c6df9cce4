// The database side of installing a snapshot from the leader, one piece of SQL for every caller: the
// install worker (install-worker.ts, off the node's event loop, on its own connection) and restore
// (restore.ts, which copies a backup's state tables the same way). The state tables, the applied
// index, the log (emptied, starting after the snapshot) and the snapshot_state row move in one
// transaction; the node's in-memory state catches up afterwards on its own thread (snapshot-store.ts).
import type { SnapshotMeta } from '@raftkv/consensus';
import type { Db } from './db.js';
import { resetLogRows } from './log-storage.js';
import { STATE_TABLES } from './schema.js';
import { copyTableSql, tableNames } from './snapshot-build.js';

/** What the snapshot_state row records about this node's current snapshot file. */
export interface SnapshotRecord {
  readonly meta: SnapshotMeta;
  /** The file's name in <data-dir>/snapshots. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** A snapshot to install: its file (already in place under its final name) and what to record. */
export interface InstallJob {
  readonly dbPath: string;
  readonly snapPath: string;
  readonly record: SnapshotRecord;
}

/**
 * Replaces every state table of `main` with the one of the database attached as `from`. A table the
 * file lacks (written by an older schema, e.g. a v0.2.0 leader's snapshot) starts as a new node's
 * does: empty, or its seed row. Runs inside the caller's transaction.
 */
export function replaceStateTables(db: Db, from: string, present: ReadonlySet<string>): void {
  for (const t of STATE_TABLES) {
    db.exec(`DELETE FROM main.${t.name}`);
    if (present.has(t.name)) db.exec(copyTableSql(t, from, 'main'));
    else if (t.seed !== undefined) db.exec(t.seed);
  }
}

/** Upserts the snapshot_state row. Runs inside the caller's transaction. */
export function recordSnapshotState(db: Db, r: SnapshotRecord): void {
  db.prepare(
    `INSERT INTO snapshot_state (id, idx, term, voters, learners, file, bytes, sha256) VALUES (0, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, term = excluded.term, voters = excluded.voters,
     learners = excluded.learners, file = excluded.file, bytes = excluded.bytes, sha256 = excluded.sha256`,
  ).run(r.meta.index, r.meta.term, JSON.stringify(r.meta.conf.voters), JSON.stringify(r.meta.conf.learners), r.file, r.bytes, r.sha256);
}

/**
 * Installs the snapshot file at `snapPath` into the database `db` in one transaction (BEGIN IMMEDIATE:
 * the write lock is taken up front, so nothing can slip in between what it reads and what it writes).
 * Durable when it returns if `db` commits at synchronous=FULL, as the install worker's connection does.
 */
export function installSnapshotFile(db: Db, snapPath: string, r: SnapshotRecord): void {
  db.prepare('ATTACH DATABASE ? AS snap').run(snapPath);
  try {
    const present = tableNames(db, 'snap');
    db.transaction(() => {
      replaceStateTables(db, 'snap', present);
      db.prepare('UPDATE main.meta SET applied_index = ?, applied_term = ? WHERE id = 0').run(r.meta.index, r.meta.term);
      resetLogRows(db, r.meta.index, r.meta.term);
      recordSnapshotState(db, r);
    }).immediate();
  } finally {
    db.exec('DETACH DATABASE snap');
  }
}
