// Every table of the node's database, the schema version and the migrations, in one place. A table
// marked `state` is part of the replicated state machine: a snapshot carries it (snapshot-build.ts
// copies it out, snapshot-install.ts installs it), so a new state table is in the snapshot by
// construction. The others belong to this node alone (its log, hard state, snapshot bookkeeping).
// Version 2 (v0.2.0) replaced version 1's `kv` table with the MVCC store (mvcc_kv, mvcc_meta); a version-1
// data dir is refused (see REFUSED_VERSIONS). Version 3 (v0.3.0) adds tables only (cluster_version and
// the state of leases, alarms, auth, member attributes): MIGRATIONS[3]. test/schema-fixtures.test.ts opens
// a data dir of each released schema (test/fixtures/schema-v*/, made by scripts/make-schema-fixture.mjs).
import type { Database } from 'better-sqlite3';

/** The node's connection (db.ts names it Db; declared here too so the two modules need not import each other). */
type Db = Database;

/**
 * The version written into a new database. Raise it only with a migration below; a data dir written
 * by a newer binary (a higher version) is refused, never opened.
 */
export const SCHEMA_VERSION = 3;

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
    // The rows that carry a lease, to find a lease's keys (mvcc/lease-keys.ts) without a scan.
    extra: ['CREATE INDEX IF NOT EXISTS mvcc_kv_by_lease ON mvcc_kv (lease, key) WHERE lease != 0'],
  },
  {
    // etcd's leases (lease-store.ts): the granted TTL of each; when one expires is the leader's
    // in-memory decision (node/lessor.ts), replicated as a revoke.
    name: 'leases',
    definition: `(
  id  INTEGER PRIMARY KEY,   -- etcd's int64 lease id (below 2^53 when raftkv chose it)
  ttl INTEGER NOT NULL       -- granted TTL in seconds, the minimum TTL rule already applied
) WITHOUT ROWID`,
    columns: ['id', 'ttl'],
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
    // What each member published about itself (etcd's member attributes: name, client URLs as a JSON
    // array; membership.ts). Rows of members that left are removed with them.
    name: 'member_attributes',
    definition: `(
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  client_urls TEXT NOT NULL
) WITHOUT ROWID`,
    columns: ['id', 'name', 'client_urls'],
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
  {
    // The cluster version (node/cluster-version.ts): the lowest release among the members, as the
    // leader last decided it; '' until one did.
    name: 'cluster_version',
    definition: '(id INTEGER PRIMARY KEY CHECK (id = 0), version TEXT NOT NULL)',
    columns: ['id', 'version'],
    state: true,
    seed: "INSERT OR IGNORE INTO cluster_version (id, version) VALUES (0, '')",
  },
  {
    // The cluster id a restored data dir was made for (restore.ts); the node refuses another --cluster-id.
    // Empty on a data dir bootstrapped with --peers or --join.
    name: 'cluster_identity',
    definition: '(id INTEGER PRIMARY KEY CHECK (id = 0), cluster_id TEXT NOT NULL)',
    columns: ['id', 'cluster_id'],
    state: false,
  },
  {
    // --force-new-cluster already rewrote this node's membership (force-new-cluster.ts): the flag is a
    // no-op from then on, so leaving it in a manifest cannot shrink the cluster again.
    name: 'forced_new_cluster',
    definition: `(id INTEGER PRIMARY KEY CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL,
      removed TEXT NOT NULL, discarded INTEGER NOT NULL)`,
    columns: ['id', 'idx', 'term', 'removed', 'discarded'],
    state: false,
  },
  {
    // etcd's auth (auth/auth-store.ts): enabled flag, auth revision (1 on a new store, as etcd) and the
    // HMAC key of tokens (drawn by the proposer of AuthEnable).
    name: 'auth_meta',
    definition: `(
  id        INTEGER PRIMARY KEY CHECK (id = 0),
  enabled   INTEGER NOT NULL,
  revision  INTEGER NOT NULL,
  token_key BLOB NOT NULL
)`,
    columns: ['id', 'enabled', 'revision', 'token_key'],
    state: true,
    seed: "INSERT OR IGNORE INTO auth_meta (id, enabled, revision, token_key) VALUES (0, 0, 1, x'')",
  },
  {
    // Users; password_hash is auth/password.ts's encoding ('' for a user without password).
    name: 'auth_users',
    definition: '(name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, no_password INTEGER NOT NULL) WITHOUT ROWID',
    columns: ['name', 'password_hash', 'no_password'],
    state: true,
  },
  {
    name: 'auth_user_roles',
    definition: '(user TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (user, role)) WITHOUT ROWID',
    columns: ['user', 'role'],
    state: true,
  },
  {
    name: 'auth_roles',
    definition: '(name TEXT PRIMARY KEY) WITHOUT ROWID',
    columns: ['name'],
    state: true,
  },
  {
    // A role's key-range permissions (etcd's authpb.Permission): perm_type 0 READ, 1 WRITE, 2 READWRITE.
    name: 'auth_role_perms',
    definition: `(
  role      TEXT NOT NULL,
  key       BLOB NOT NULL,
  range_end BLOB NOT NULL,
  perm_type INTEGER NOT NULL,
  PRIMARY KEY (role, key, range_end)
) WITHOUT ROWID`,
    columns: ['role', 'key', 'range_end', 'perm_type'],
    state: true,
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
 * opens it; ensureSchema then creates the tables still missing (with their seed rows). Version 1 cannot
 * become version 2 (REFUSED_VERSIONS).
 */
export const MIGRATIONS: Readonly<Record<number, (db: Db) => void>> = {
  // 2 -> 3 only adds tables, whichever this build has (created empty or seeded below, as on a new node:
  // the state they hold starts with the commands that fill them, which only a 0.3 cluster accepts).
  // Rows and columns of version 2 are kept as they are; the snapshot file a v2 node took stays valid
  // (an older snapshot installs with the new tables empty, snapshot-store.ts).
  3: (db) => {
    const v2 = ['log', 'hard_state', 'mvcc_kv', 'mvcc_meta', 'sessions', 'meta', 'log_base', 'members', 'snapshot_state'];
    const have = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    const lacking = v2.filter((t) => !have.has(t));
    if (lacking.length > 0) throw new SchemaVersionError(`database schema version 2 is incomplete: no ${lacking.join(', ')} table`);
  },
};

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
