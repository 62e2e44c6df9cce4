// Every table of the node's database, the schema version and the migrations, in one place. A table
// marked `state` is part of the replicated state machine: a snapshot carries it (snapshot-build.ts
// copies it out, snapshot-store.ts installs it), so a new state table is in the snapshot by
// construction. The others belong to this node alone (its log, hard state, snapshot bookkeeping).
// The statements are those earlier versions created, byte for byte: existing data dirs stay valid.
import type { Database } from 'better-sqlite3';

/** The node's connection (db.ts names it Db; declared here too so the two modules need not import each other). */
type Db = Database;

/**
 * The version written into a new database. Raise it only with a migration below; a data dir written
 * by a newer binary (a higher version) is refused, never opened.
 */
export const SCHEMA_VERSION = 1;

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
}

export const TABLES: readonly Table[] = [
  {
    name: 'log',
    definition: `(
  idx  INTEGER PRIMARY KEY,   -- Raft index (the rowid: appends are B-tree tail inserts)
  term INTEGER NOT NULL,
  type INTEGER NOT NULL,      -- 0 normal, 1 conf-change
  data BLOB NOT NULL          -- encoded raftkv.v1.ProposeRequest; empty for a leader's no-op
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
    name: 'kv',
    definition: `(
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID`,
    columns: ['key', 'value'],
    state: true,
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
 * opens it; version 1 is the schema above as first released, so there is none yet.
 */
export const MIGRATIONS: Readonly<Record<number, (db: Db) => void>> = {};

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
