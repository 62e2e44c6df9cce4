// `raftctl snapshot restore`: a member's data dir for a NEW cluster, built from a backup file
// (backup-file.ts). Every state table the file carries is copied in whole (every key with all its
// revisions, sessions, and any lease or auth tables of schema.ts); the membership is replaced by the
// given members (all voters); the log starts empty right after the snapshot's index and term, as on a
// node that installed that snapshot, and the node's own snapshot file is rebuilt so it carries the new
// membership. Restoring every member from the same file gives them the same state at the same index.
// Written into <dir>/.restore first; raftkv.db is moved into place last, so a half-made data dir is
// never started (the node would find no database and the leftovers are refused by the next restore).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackupFileError, extractBackup, openChecked } from './backup-file.js';
import { recordClusterId } from './cluster-identity.js';
import { openDatabase } from './db.js';
import { SqliteLogStorage } from './log-storage.js';
import { SNAPSHOT_META_TABLE, STATE_TABLES } from './schema.js';
import { buildSnapshot, readSnapshotMeta } from './snapshot-build.js';
import { replaceStateTables } from './snapshot-install.js';
import { fsyncDir } from './snapshot-store.js';

export interface RestoreOptions {
  readonly file: string;
  readonly dataDir: string;
  /** This member's id: one of `peers`. */
  readonly id: string;
  /** The new cluster's voters: id -> address peers dial. */
  readonly peers: ReadonlyMap<string, string>;
  /** The new cluster's id; default: derived from the file's checksum (the same for every member). */
  readonly clusterId?: string | undefined;
  /** Accept a file without its checksum (a bare snapshot database). */
  readonly skipHashCheck?: boolean;
}

export interface RestoreResult {
  readonly index: number;
  readonly term: number;
  readonly revision: number;
  readonly clusterId: string;
  readonly tables: readonly string[];
}

/** The default id of a cluster restored from a file: new, and the same on every member restored from it. */
export const restoredClusterId = (sha256: string): string => `raftkv-restored-${sha256.slice(0, 12)}`;

export function restoreDataDir(o: RestoreOptions): RestoreResult {
  if (!o.peers.has(o.id)) throw new BackupFileError(`--peers does not include this member's id ${JSON.stringify(o.id)}`);
  if (existsSync(o.dataDir) && readdirSync(o.dataDir).length > 0)
    throw new BackupFileError(`data dir ${o.dataDir} is not empty: restore builds a new member's data dir and overwrites nothing`);
  mkdirSync(o.dataDir, { recursive: true });
  const work = join(o.dataDir, '.restore');
  mkdirSync(work);
  try {
    const filePath = join(work, 'backup.db');
    const { sha256 } = extractBackup(o.file, filePath, { skipHashCheck: o.skipHashCheck ?? false });
    const tables = checkTables(filePath, o.file);
    const meta = readSnapshotMeta(filePath, { allTables: false });
    if (meta instanceof Error) throw new BackupFileError(`${o.file}: ${meta.message}`);
    const clusterId = o.clusterId ?? restoredClusterId(sha256);

    const db = openDatabase(work);
    let revision = 0;
    try {
      db.prepare('ATTACH DATABASE ? AS snap').run(filePath);
      db.transaction(() => {
        // A state table the file lacks (written before the table existed) gets its new, seeded state.
        replaceStateTables(db, 'snap', new Set(tables));
        db.exec('DELETE FROM main.members');
        const insert = db.prepare('INSERT INTO main.members (id, address, voter) VALUES (?, ?, 1)');
        for (const [id, address] of o.peers) insert.run(id, address);
        // What the old members published about themselves goes with them (the new ones publish their own).
        if (tables.includes('member_attributes'))
          db.prepare('DELETE FROM main.member_attributes WHERE id NOT IN (SELECT id FROM main.members)').run();
        db.prepare('UPDATE main.meta SET applied_index = ?, applied_term = ? WHERE id = 0').run(meta.index, meta.term);
        const log = new SqliteLogStorage(db);
        log.reset(meta.index, meta.term);
        log.setHardState({ term: meta.term, vote: '', commit: meta.index });
        recordClusterId(db, clusterId);
        revision = (db.prepare('SELECT current_rev FROM main.mvcc_meta WHERE id = 0').pluck().get() as number | undefined) ?? 1;
      })();
      db.exec('DETACH DATABASE snap');
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    rmSync(filePath, { force: true });

    // The node's own snapshot: what it sends a member that needs entries before the restored index.
    const snapDir = join(work, 'snapshots');
    mkdirSync(snapDir, { recursive: true });
    const name = `snap-${meta.index}-${meta.term}.db`;
    const built = buildSnapshot(join(work, 'raftkv.db'), join(snapDir, name));
    if (built === null) throw new BackupFileError(`${o.file}: the restored state has no applied index or members`);
    const db2 = openDatabase(work);
    try {
      db2
        .prepare('INSERT INTO snapshot_state (id, idx, term, voters, learners, file, bytes, sha256) VALUES (0, ?, ?, ?, ?, ?, ?, ?)')
        .run(meta.index, meta.term, JSON.stringify(built.meta.conf.voters), '[]', name, built.bytes, built.sha256);
      db2.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db2.close();
    }
    for (const f of readdirSync(work)) if (f.startsWith('raftkv.db-')) rmSync(join(work, f), { force: true });
    fsyncDir(snapDir);
    renameSync(snapDir, join(o.dataDir, 'snapshots'));
    renameSync(join(work, 'raftkv.db'), join(o.dataDir, 'raftkv.db'));
    fsyncDir(o.dataDir);
    return { index: meta.index, term: meta.term, revision, clusterId, tables };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The state tables the file carries. A table this binary does not know (a newer raftkv's state) or
 * lacks a column of would be lost: refused instead.
 */
function checkTables(dbPath: string, file: string): string[] {
  const db = openChecked(dbPath, file);
  try {
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const known = new Map(STATE_TABLES.map((t) => [t.name, t]));
    const unknown = names.filter((n) => !known.has(n) && n !== SNAPSHOT_META_TABLE.name && !n.startsWith('sqlite_'));
    if (unknown.length > 0)
      throw new BackupFileError(
        `${file}: has state this raftkv does not know (tables ${unknown.join(', ')}): restore it with the release that wrote it, or newer`,
      );
    for (const n of names.filter((x) => known.has(x))) {
      const cols = new Set(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(n) as string[]);
      const missing = known.get(n)!.columns.filter((c) => !cols.has(c));
      if (missing.length > 0) throw new BackupFileError(`${file}: table ${n} lacks column(s) ${missing.join(', ')}`);
      const extra = [...cols].filter((c) => !known.get(n)!.columns.includes(c));
      if (extra.length > 0)
        throw new BackupFileError(`${file}: table ${n} has column(s) this raftkv does not know (${extra.join(', ')}): use a newer release`);
    }
    return names.filter((x) => known.has(x));
  } finally {
    db.close();
  }
}
