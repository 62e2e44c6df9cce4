// The node's single SQLite database: Raft log, hard state, KV state machine, client sessions and the
// applied index all live in one file so one transaction can update them together (group commit).
// Every connection to it is opened here, and every durability setting (journal mode, synchronous,
// checkpoints) is made here; the tables are in schema.ts.
import Database, { type Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSchema } from './schema.js';

export type Db = Database.Database;

/** Opens (creating if needed) `<dataDir>/raftkv.db` with durable settings and the current schema. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'raftkv.db'));
  db.pragma('journal_mode = WAL');
  // FULL: every commit fsyncs the WAL, so a committed transaction survives power loss, not just a crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  db.pragma('cache_size = -65536'); // 64 MiB page cache
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('temp_store = MEMORY');
  db.defaultSafeIntegers(false);
  try {
    ensureSchema(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * The node's connection commits Ready transactions without SQLite's fsync and fsyncs the WAL itself
 * (wal-sync.ts): it must then never checkpoint, since a checkpoint at synchronous=OFF skips the fsync
 * of the database file before the WAL may be overwritten. The Checkpointer does it instead.
 */
export function leaveCheckpointsToCheckpointer(db: Db): void {
  db.pragma('wal_autocheckpoint = 0');
}

/** Switches the connection between commits without fsync (the caller syncs the WAL) and SQLite's own. */
export interface CommitSync {
  /** Commits reach the WAL in the OS page cache only. */
  off(): void;
  /** Every commit fsyncs the WAL (the connection's default). */
  full(): void;
}

export function commitSync(db: Db): CommitSync {
  const off: Statement = db.prepare('PRAGMA synchronous = OFF');
  const full: Statement = db.prepare('PRAGMA synchronous = FULL');
  return { off: () => void off.run(), full: () => void full.run() };
}

/** Runs `f` with every commit fsynced by SQLite, then restores the connection's setting. */
export function withFullSync<T>(db: Db, f: () => T): T {
  const prev = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = FULL');
  try {
    return f();
  } finally {
    db.pragma(`synchronous = ${prev}`);
  }
}

/** The checkpoint worker's own connection: synchronous=FULL, so a checkpoint fsyncs the database file. */
export function openCheckpointConnection(dbPath: string): Db {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 100');
  return db;
}

/** Copies the WAL into the database file without blocking the node's readers or writers. */
export function checkpoint(db: Db): void {
  db.pragma('wal_checkpoint(PASSIVE)');
}

/**
 * Copies what is left of the WAL and truncates it to nothing. Under a steady write load a PASSIVE
 * checkpoint never finds the WAL fully copied with no writer in between, so SQLite never starts the WAL
 * over and the file grows without end (measured: ~1.4 KB per write). This blocks the node's writers
 * while it runs, so it waits at most `waitMs` for them and for readers (a snapshot build, a digest) and
 * gives up otherwise; right after a PASSIVE checkpoint there is little left to copy.
 * Returns whether the WAL was truncated.
 */
export function truncateWal(db: Db, waitMs: number): boolean {
  const prev = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${waitMs}`);
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return r?.busy === 0;
  } finally {
    db.pragma(`busy_timeout = ${prev}`);
  }
}

/**
 * A connection to the node's database with a new snapshot file attached as `snap`, for the snapshot
 * builder. The file is written without journal or fsync: a half-written one is discarded, never used,
 * and the builder fsyncs it once at the end.
 */
export function openForSnapshot(dbPath: string, outPath: string): Db {
  // (fileMustExist would also apply to the attached snapshot file, which does not exist yet.)
  const db = new Database(dbPath);
  try {
    db.pragma('busy_timeout = 10000');
    db.prepare('ATTACH DATABASE ? AS snap').run(outPath);
    db.pragma('snap.journal_mode = OFF');
    db.pragma('snap.synchronous = OFF');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * The defragmenter's own connection (defrag-worker.ts): VACUUM commits at synchronous=FULL, and waits
 * up to a few seconds for the node's write in progress to finish before it takes the write lock.
 */
export function openDefragConnection(dbPath: string): Db {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/**
 * The snapshot install worker's own connection (install-worker.ts): commits at synchronous=FULL, so the
 * install is durable before anything of the Ready that follows it; never checkpoints (the Checkpointer
 * does); waits up to a few seconds for a checkpoint or defragmentation holding the write lock.
 */
export function openInstallConnection(dbPath: string): Db {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('foreign_keys = OFF');
  db.pragma('temp_store = MEMORY');
  db.pragma('busy_timeout = 10000');
  return db;
}

/** A connection that only reads the node's database (Hash, HashKV on a worker): never writes, never checkpoints. */
export function openReadConnection(dbPath: string): Db {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('query_only = 1');
  db.pragma('busy_timeout = 5000');
  return db;
}
