// Every table of the node's database, the schema version and the migrations, in one place. A table
// marked `state` is part of the replicated state machine: a snapshot carries it (snapshot-build.ts
// copies it out, snapshot-store.ts installs it), so a new state table is in the snapshot by
// construction. The others belong to this node alone (its log, hard state, snapshot bookkeeping).
// Version 2 replaced version 1's `kv` table with the MVCC store (mvcc_kv, mvcc_meta); a version-1 data
// dir is refused (see REFUSED_VERSIONS).
import type { Database } from 'better-sqlite3';

/** The node's connection (db.ts names it Db; declared here too so the two modules need not import each other). */
type Db = Database;

/**
 * The version written into a new database. Raise it only with a migration below; a data dir written
 * by a newer binary (a higher version) is refused, never opened.
 */
export const SCHEMA_VERSION = 2;

export interface Table {
  readonly name: string;
  /** The column definitions and table options that follow `CREATE TABLE name`. */
  readonly definition: string;
  /** Its columns, in order: what a snapshot copies. */
  readonly columns: readonly string[];
  /** Part of the replicated state machine (in every snapshot). */
  readonly state: boolean;
  /** Statements run after the table is created (indexes); the node's database only, not snapshots. */
  readonly extra?: readonly string[];
  /** The row an empty node's table starts with (a snapshot brings its own rows instead). */
  readonly seed?: string;
}

export const TABLES: readonly Table[] = [
  {
    name: 'log',
    definition: `(
  idx  INTEGER PRIMARY KEY,   -- Raft index (the rowid: appends are B-tree tail inserts)
  term INTEGER NOT NULL,
  type INTEGER NOT NULL,      -- 0 normal, 1 conf-change
  data BLOB NOT NULL          -- encoded raftkv.v1.Command (command.proto); empty for a leader's no-op
)`,
    columns: ['idx', 'term', 'type', 'data'],
    state: false,
  },
  {
    name: 'hard_state',
    definition: `(
  id     INTEGER PRIMARY KEY CHECK (id = 0),
  term   INTEGER NOT NULL,
  vote   TEXT NOT NULL,
  commit_idx INTEGER NOT NULL
)`,
    columns: ['id', 'term', 'vote', 'commit_idx'],
    state: false,
  },
  {
    // The MVCC key-value store (mvcc/): one row per revision of a key, a put or a tombstone (a delete).
    // Keys are BLOBs, so SQLite orders them bytewise (memcmp, then length), as etcd does. The primary key
    // (key, main, sub) serves both "the next distinct key after k" and "the latest revision of k at or
    // below R" as index seeks.
    name: 'mvcc_kv',
    definition: `(
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
    columns: ['key', 'main', 'sub', 'create_rev', 'version', 'lease', 'value', 'tombstone'],
    state: true,
  },
  {
    // The MVCC store's revision counters (one row).
    name: 'mvcc_meta',
    definition: `(
  id           INTEGER PRIMARY KEY CHECK (id = 0),
  current_rev  INTEGER NOT NULL,  -- 1 on an empty store, as etcd
  compact_rev  INTEGER NOT NULL   -- -1 until the first compaction, as etcd's compactMainRev
)`,
    columns: ['id', 'current_rev', 'compact_rev'],
    state: true,
    seed: 'INSERT OR IGNORE INTO mvcc_meta (id, current_rev, compact_rev) VALUES (0, 1, -1)',
  },
  {
    // Client sessions: the first answer to each (client_id, sequence), so a retried command is not
    // applied twice (state-machine.ts).
    name: 'sessions',
    definition: `(
  client_id TEXT NOT NULL,
  sequence  INTEGER NOT NULL,
  response  BLOB NOT NULL,    -- encoded raftkv.v1.ProposeResponse as first answered
  applied_index INTEGER NOT NULL,
  PRIMARY KEY (client_id, sequence)
) WITHOUT ROWID`,
    columns: ['client_id', 'sequence', 'response', 'applied_index'],
    state: true,
    extra: ['CREATE INDEX IF NOT EXISTS sessions_by_index ON sessions (applied_index)'],
  },
  {
    // The schema version and the state machine's applied index and term (a snapshot carries those in
    // its snapshot_meta row).
    name: 'meta',
    definition: `(
  id            INTEGER PRIMARY KEY CHECK (id = 0),
  schema_version INTEGER NOT NULL,
  applied_index INTEGER NOT NULL,
  applied_term  INTEGER NOT NULL
)`,
    columns: ['id', 'schema_version', 'applied_index', 'applied_term'],
    state: false,
  },
  {
    // The log's compaction point (log-storage.ts).
    name: 'log_base',
    definition: '(id INTEGER PRIMARY KEY CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL)',
    columns: ['id', 'idx', 'term'],
    state: false,
  },
  {
    // The cluster membership as applied (membership.ts).
    name: 'members',
    definition: `(
  id      TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  voter   INTEGER NOT NULL
) WITHOUT ROWID`,
    columns: ['id', 'address', 'voter'],
    state: true,
  },
  {
    // Raised alarms (etcd's alarm bucket, alarms.ts): NOSPACE caps writes on every node until disarmed.
    name: 'alarms',
    definition: `(
  member_id INTEGER NOT NULL,   -- etcd's member id (member-id.ts) of the member that raised it
  alarm     INTEGER NOT NULL,   -- etcdserverpb.AlarmType
  PRIMARY KEY (member_id, alarm)
) WITHOUT ROWID`,
    columns: ['member_id', 'alarm'],
    state: true,
  },
  {
    // The latest snapshot file of this node (snapshot-store.ts).
    name: 'snapshot_state',
    definition: `(
      id INTEGER PRIMARY KEY CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL,
      voters TEXT NOT NULL, learners TEXT NOT NULL, file TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL)`,
    columns: ['id', 'idx', 'term', 'voters', 'learners', 'file', 'bytes', 'sha256'],
    state: false,
  },
];

/** The tables of the replicated state machine: exactly what a snapshot holds besides its meta row. */
export const STATE_TABLES: readonly Table[] = TABLES.filter((t) => t.state);

/** A snapshot file's own row: the index, term and membership it was taken at. */
export const SNAPSHOT_META_TABLE: Table = {
  name: 'snapshot_meta',
  definition: `(id INTEGER PRIMARY KEY CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL,
     voters TEXT NOT NULL, learners TEXT NOT NULL)`,
  columns: ['id', 'idx', 'term', 'voters', 'learners'],
  state: false,
};

/** `CREATE TABLE` for `t`, in the attached database `schema` when given (e.g. 'snap' for a snapshot file). */
export function createTableSql(t: Table, schema?: string): string {
  return `CREATE TABLE IF NOT EXISTS ${schema === undefined ? '' : `${schema}.`}${t.name} ${t.definition}`;
}

/**
 * MIGRATIONS[v] brings a database of schema version v - 1 to version v, inside the transaction that
 * opens it. None yet: version 1 cannot become version 2 (REFUSED_VERSIONS).
 */
export const MIGRATIONS: Readonly<Record<number, (db: Db) => void>> = {};

/**
 * Versions this binary refuses with a reason instead of migrating. Version 1 (no release was ever
 * tagged) kept only each key's value: the MVCC revisions of version 2 cannot be rebuilt from it so
 * that every replica agrees, since replicas would upgrade at different applied indexes.
 */
const REFUSED_VERSIONS: Readonly<Record<number, string>> = {
  1:
    'it was written by raftkv 0.1 (a single-value store without revisions), which raftkv 0.2 cannot upgrade: ' +
    'start this node on an empty data dir (and load the data again through the API); see CHANGELOG.md',
};

/** The data dir's schema cannot be used by this binary (written by a newer one, or no migration). */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
}

/**
 * Brings the database to SCHEMA_VERSION: creates missing tables (a new database, or a table added
 * within the version) and runs the migrations from the version it has. A newer version is refused
 * before anything is written.
 */
export function ensureSchema(db: Db): void {
  const found = storedVersion(db);
  if (found !== null && found > SCHEMA_VERSION) {
    throw new SchemaVersionError(
      `database schema version ${found} is newer than this raftkv supports (${SCHEMA_VERSION}): ` +
        'the data dir was written by a newer release; run that release (or newer) on it',
    );
  }
  const refused = found === null ? undefined : REFUSED_VERSIONS[found];
  if (refused !== undefined) throw new SchemaVersionError(`database schema version ${found}: ${refused}`);
  const existing = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name),
  );
  const missing = TABLES.filter((t) => !existing.has(t.name));
  // A current, complete schema needs no write: opening it must not (a read-only data dir is then
  // refused by the first real write, logged as the node's error, not by the schema check).
  if (found === SCHEMA_VERSION && missing.length === 0) return;
  db.transaction(() => {
    for (let v = (found ?? SCHEMA_VERSION) + 1; v <= SCHEMA_VERSION; v++) {
      const migrate = MIGRATIONS[v];
      if (migrate === undefined) {
        throw new SchemaVersionError(`database schema version ${found} is not supported: no migration to version ${v}`);
      }
      migrate(db);
    }
    for (const t of TABLES) {
      db.exec(createTableSql(t));
      for (const sql of t.extra ?? []) db.exec(sql);
    }
    // Seed rows go only into tables created just now.
    for (const t of missing) if (t.seed !== undefined) db.exec(t.seed);
    if (found === null) {
      db.prepare('INSERT INTO meta (id, schema_version, applied_index, applied_term) VALUES (0, ?, 0, 0)').run(SCHEMA_VERSION);
    } else if (found < SCHEMA_VERSION) {
      db.prepare('UPDATE meta SET schema_version = ? WHERE id = 0').run(SCHEMA_VERSION);
    }
  })();
}

/** The schema version recorded in the database; null for a new one. */
function storedVersion(db: Db): number | null {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  if (!hasMeta) return null;
  const row = db.prepare('SELECT schema_version FROM meta WHERE id = 0').get() as { schema_version: number } | undefined;
  return row?.schema_version ?? null;
}
