// The schema module: every state table travels in a snapshot and comes back on install; a data dir
// of a newer schema version is refused; one that lacks a table added within the version gets it.
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../src/storage/db.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';
import { createLogger } from '../src/observability/logger.js';
import { Membership } from '../src/storage/membership.js';
import { SCHEMA_VERSION, SchemaVersionError, STATE_TABLES, TABLES, type Table } from '../src/storage/schema.js';
import { buildSnapshot } from '../src/storage/snapshot-build.js';
import { SnapshotStore } from '../src/storage/snapshot-store.js';
import { removeDir, tempDir } from '@raftkv/testkit';

const logger = createLogger({ node: 'n2', term: 0, role: 'follower' }, 'error');
const PEERS = new Map([
  ['n1', '127.0.0.1:1'],
  ['n2', '127.0.0.1:2'],
]);

const rows = (db: Db, t: Table): unknown[] => {
  const cols = t.columns.join(', ');
  return db.prepare(`SELECT ${cols} FROM ${t.name} ORDER BY ${cols}`).all();
};
const POLICY = { entries: 1000, bytes: 1 << 30, catchupEntries: 10 };

describe('schema', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  test('the state tables are the replicated state: the MVCC store, sessions and members at least', () => {
    expect(STATE_TABLES.map((t) => t.name)).toEqual(expect.arrayContaining(['mvcc_kv', 'mvcc_meta', 'sessions', 'members']));
    expect(STATE_TABLES.map((t) => t.name)).not.toContain('kv');
    expect(STATE_TABLES.map((t) => t.name)).not.toContain('log');
  });

  test('every state table ends up in a built snapshot and is restored on install', async () => {
    const src = openDatabase(join(root, 'n1'));
    new Membership(src, 'n1', PEERS.get('n1')!, logger).bootstrap(PEERS);
    // A row in every state table, whatever its columns.
    for (const [i, t] of STATE_TABLES.entries()) {
      if (t.seed !== undefined) {
        // A one-row table (id 0, seeded): every other column gets a value of its own.
        const set = t.columns.filter((col) => col !== 'id').map((col, c) => `${col} = ${1000 + 10 * i + c}`);
        src.exec(`UPDATE ${t.name} SET ${set.join(', ')}`);
        continue;
      }
      const values = t.columns.map((_, c) => `${t.name}-${i}-${c}`);
      src.prepare(`INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`).run(...values);
    }
    src.prepare('UPDATE meta SET applied_index = 7, applied_term = 2 WHERE id = 0').run();
    const expected = new Map(STATE_TABLES.map((t) => [t.name, rows(src, t)]));
    src.close();

    const built = buildSnapshot(join(root, 'n1', 'raftkv.db'), join(root, 'built.snap'))!;
    expect(built).not.toBeNull();

    const db = openDatabase(join(root, 'n2'));
    const log = new SqliteLogStorage(db);
    const store = new SnapshotStore({ db, dataDir: join(root, 'n2'), log, logger, policy: POLICY, appliedIndex: () => 0 });
    try {
      for (const t of STATE_TABLES) {
        // A new node's tables are empty, but for the seeded one-row tables (which hold other values).
        if (t.seed === undefined) expect(rows(db, t)).toEqual([]);
        else expect(rows(db, t)).not.toEqual(expected.get(t.name));
      }
      const tmp = store.tempPath('recv');
      copyFileSync(join(root, 'built.snap'), tmp);
      store.keepReceived(tmp, built.meta, built.bytes, built.sha256);
      await store.install(built.meta);
      for (const t of STATE_TABLES) {
        expect(rows(db, t).length).toBeGreaterThan(0);
        expect({ table: t.name, rows: rows(db, t) }).toEqual({ table: t.name, rows: expected.get(t.name) });
      }
      expect(db.prepare('SELECT applied_index, applied_term FROM meta').get()).toEqual({ applied_index: 7, applied_term: 2 });
    } finally {
      store.close();
      db.close();
    }
  });

  test('a data dir of a newer schema version is refused, and left as it was', () => {
    const dir = join(root, 'n1');
    const db = openDatabase(dir);
    db.prepare('UPDATE meta SET schema_version = ? WHERE id = 0').run(SCHEMA_VERSION + 1);
    db.exec('DROP TABLE members');
    db.close();
    expect(() => openDatabase(dir)).toThrow(SchemaVersionError);
    const newer = `database schema version ${SCHEMA_VERSION + 1} is newer than this raftkv supports (${SCHEMA_VERSION})`;
    expect(() => openDatabase(dir)).toThrow(newer);
    const raw = new Database(join(dir, 'raftkv.db'), { readonly: true });
    try {
      expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'members'").get()).toBeUndefined();
    } finally {
      raw.close();
    }
  });

  test('a version-1 data dir (the kv table, no revisions) is refused with the reason, and left as it was', () => {
    const dir = join(root, 'n1');
    const db = openDatabase(dir);
    db.prepare('UPDATE meta SET schema_version = 1 WHERE id = 0').run();
    db.exec('DROP TABLE mvcc_kv; DROP TABLE mvcc_meta; CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
    db.prepare("INSERT INTO kv (key, value) VALUES ('a', x'01')").run();
    db.close();
    expect(() => openDatabase(dir)).toThrow(SchemaVersionError);
    expect(() => openDatabase(dir)).toThrow(/database schema version 1: .*cannot upgrade: start this node on an empty data dir/);
    const raw = new Database(join(dir, 'raftkv.db'), { readonly: true });
    try {
      expect(raw.prepare("SELECT value FROM kv WHERE key = 'a'").pluck().get()).toEqual(Buffer.from([1]));
      expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'mvcc_kv'").get()).toBeUndefined();
    } finally {
      raw.close();
    }
  });

  test('a data dir without a table added within its version gets the table and keeps its data', () => {
    const dir = join(root, 'n1');
    let db = openDatabase(dir);
    db.prepare(
      "INSERT INTO mvcc_kv (key, main, sub, create_rev, version, lease, value, tombstone) VALUES ('a', 2, 0, 2, 1, 0, x'01', 0)",
    ).run();
    for (const t of ['members', 'log_base', 'snapshot_state']) db.exec(`DROP TABLE ${t}`);
    db.close();
    db = openDatabase(dir);
    try {
      const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).sort();
      expect(names).toEqual(TABLES.map((t) => t.name).sort());
      expect(db.prepare("SELECT value FROM mvcc_kv WHERE key = 'a'").pluck().get()).toEqual(Buffer.from([1]));
      expect(db.prepare('SELECT schema_version FROM meta').pluck().get()).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });
});
