// The node's single SQLite database: Raft log, hard state, KV state machine, client sessions and the
// applied index all live in one file so one transaction can update them together (group commit).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  idx  INTEGER PRIMARY KEY,   -- Raft index (the rowid: appends are B-tree tail inserts)
  term INTEGER NOT NULL,
  type INTEGER NOT NULL,      -- 0 normal, 1 conf-change
  data BLOB NOT NULL          -- encoded raftkv.v1.ProposeRequest; empty for a leader's no-op
);
CREATE TABLE IF NOT EXISTS hard_state (
  id     INTEGER PRIMARY KEY CHECK (id = 0),
  term   INTEGER NOT NULL,
  vote   TEXT NOT NULL,
  commit_idx INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
  client_id TEXT NOT NULL,
  sequence  INTEGER NOT NULL,
  response  BLOB NOT NULL,    -- encoded raftkv.v1.ProposeResponse as first answered
  applied_index INTEGER NOT NULL,
  PRIMARY KEY (client_id, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_index ON sessions (applied_index);
CREATE TABLE IF NOT EXISTS meta (
  id            INTEGER PRIMARY KEY CHECK (id = 0),
  schema_version INTEGER NOT NULL,
  applied_index INTEGER NOT NULL,
  applied_term  INTEGER NOT NULL
);
`;

/** Opens (creating if needed) `<dataDir>/raftkv.db` with durable settings. */
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
  db.exec(SCHEMA);
  const meta = db.prepare('SELECT schema_version FROM meta WHERE id = 0').get() as { schema_version: number } | undefined;
  if (meta === undefined) {
    db.prepare('INSERT INTO meta (id, schema_version, applied_index, applied_term) VALUES (0, ?, 0, 0)').run(SCHEMA_VERSION);
  } else if (meta.schema_version !== SCHEMA_VERSION) {
    db.close();
    throw new Error(`database schema version ${meta.schema_version} is not supported (expected ${SCHEMA_VERSION})`);
  }
  return db;
}
