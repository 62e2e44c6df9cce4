// Writing and checking snapshot files. A snapshot is a small SQLite database holding the state machine
// as of one applied index: every state table of schema.ts (kv, sessions, members) and a snapshot_meta
// row (index, term, membership). It is written from a read transaction on the node's database, on its
// own connection (run in a worker thread by snapshot-store.ts): in WAL mode the node keeps writing
// meanwhile, and the read transaction sees one consistent state, so the state tables and the applied
// index always match. The file's SQLite user_version is the schema version it was written with (0: by
// v0.2.0, schema 2, which did not set it): an older file may lack state tables added since (installed
// as empty, snapshot-install.ts), a newer one is refused.
import Database from 'better-sqlite3';
import type { SnapshotMeta } from '@raftkv/consensus';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readSync, rmSync } from 'node:fs';
import { openForSnapshot } from './db.js';
import { createTableSql, SCHEMA_VERSION, SNAPSHOT_META_TABLE, STATE_TABLES, type Table } from './schema.js';

export interface BuiltSnapshot {
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly sha256: string;
  readonly keys: number;
}

/** Copies every row of state table `t` from the database attached as `from` into the one attached as `to`. */
export function copyTableSql(t: Table, from: string, to: string): string {
  const cols = t.columns.join(', ');
  return `INSERT INTO ${to}.${t.name} (${cols}) SELECT ${cols} FROM ${from}.${t.name}`;
}

/** The live keys of the snapshot: each key's latest write, when it is not a tombstone. */
const LIVE_KEYS_SQL =
  'SELECT count(*) FROM snap.mvcc_kv a WHERE a.tombstone = 0 AND NOT EXISTS (SELECT 1 FROM snap.mvcc_kv b ' +
  'WHERE b.key = a.key AND (b.main > a.main OR (b.main = a.main AND b.sub > a.sub)))';

/**
 * Copies the state machine of the database at `dbPath` into a new snapshot file `outPath`, durably.
 * Returns null when there is nothing to snapshot (nothing applied, or no membership known yet).
 */
export function buildSnapshot(dbPath: string, outPath: string): BuiltSnapshot | null {
  rmSync(outPath, { force: true });
  if (!existsSync(dbPath)) throw new Error(`${dbPath} does not exist`);
  const db = openForSnapshot(dbPath, outPath);
  let meta: SnapshotMeta | null = null;
  let keys = 0;
  try {
    for (const t of [...STATE_TABLES, SNAPSHOT_META_TABLE]) db.exec(createTableSql(t, 'snap'));
    db.pragma(`snap.user_version = ${SCHEMA_VERSION}`);
    // One transaction: the read snapshot of the node's database is taken at the first read, and every
    // table below is copied from that same state.
    db.transaction(() => {
      const m = db.prepare('SELECT applied_index, applied_term FROM main.meta WHERE id = 0').get() as {
        applied_index: number;
        applied_term: number;
      };
      const members = db.prepare('SELECT id, voter FROM main.members ORDER BY id').all() as { id: string; voter: number }[];
      const voters = members.filter((r) => r.voter === 1).map((r) => r.id);
      if (m.applied_index === 0 || voters.length === 0) return;
      const learners = members.filter((r) => r.voter !== 1).map((r) => r.id);
      meta = { index: m.applied_index, term: m.applied_term, conf: { voters, learners } };
      for (const t of STATE_TABLES) db.prepare(copyTableSql(t, 'main', 'snap')).run();
      keys = db.prepare(LIVE_KEYS_SQL).pluck().get() as number;
      db.prepare('INSERT INTO snap.snapshot_meta (id, idx, term, voters, learners) VALUES (0, ?, ?, ?, ?)').run(
        m.applied_index,
        m.applied_term,
        JSON.stringify(voters),
        JSON.stringify(learners),
      );
    })();
    db.exec('DETACH DATABASE snap');
  } finally {
    db.close();
  }
  if (meta === null) {
    rmSync(outPath, { force: true });
    return null;
  }
  const { bytes, sha256 } = fsyncAndHash(outPath);
  return { meta, bytes, sha256, keys };
}

/** fsyncs a file and returns its size and sha256 (hex), reading it in 1 MiB pieces. */
export function fsyncAndHash(path: string): { bytes: number; sha256: string } {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    let bytes = 0;
    for (let n; (n = readSync(fd, buf, 0, buf.length, bytes)) > 0; bytes += n) h.update(buf.subarray(0, n));
    return { bytes, sha256: h.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/**
 * The meta row of a snapshot file, or an Error saying why the file is not a usable snapshot. A backup
 * being restored may lack state tables newer than its writer (`allTables: false`); a snapshot from a
 * peer may not.
 */
export function readSnapshotMeta(path: string, o: { allTables?: boolean } = {}): SnapshotMeta | Error {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const r = db.prepare('SELECT idx, term, voters, learners FROM snapshot_meta WHERE id = 0').get() as
      | { idx: number; term: number; voters: string; learners: string }
      | undefined;
    if (r === undefined) return new Error('snapshot has no meta row');
    const version = snapshotSchemaVersion(db);
    if (version > SCHEMA_VERSION) {
      return new Error(
        `snapshot schema version ${version} is newer than this raftkv supports (${SCHEMA_VERSION}): ` +
          'it was written by a newer release; upgrade this node first',
      );
    }
    const tables = tableNames(db);
    for (const t of STATE_TABLES) {
      // An older snapshot lacks the tables added since; the current version must have them all (unless
      // the caller takes whatever tables a file has: a backup being restored).
      if (!tables.has(t.name) && version === SCHEMA_VERSION && o.allTables !== false) return new Error(`snapshot has no ${t.name} table`);
      if (tables.has(t.name)) db.prepare(`SELECT 1 FROM ${t.name} LIMIT 1`).get();
    }
    const voters = JSON.parse(r.voters) as unknown;
    const learners = JSON.parse(r.learners) as unknown;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!strings(voters) || !strings(learners)) return new Error('snapshot meta has a malformed membership');
    return { index: r.idx, term: r.term, conf: { voters, learners } };
  } catch (e) {
    return new Error(`not a readable snapshot: ${(e as Error).message}`);
  } finally {
    db?.close();
  }
}

/** The schema version a snapshot file was written with (schema 2 files, from v0.2.0, say 0: read as 2). */
export function snapshotSchemaVersion(db: Database.Database, schema = 'main'): number {
  const v = db.pragma(`${schema}.user_version`, { simple: true }) as number;
  return v === 0 ? 2 : v;
}

/** The tables of a database (or of the attached one `schema`). */
export function tableNames(db: Database.Database, schema = 'main'): Set<string> {
  const rows = db.prepare(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  return new Set(rows);
}

export function sameMeta(a: SnapshotMeta, b: SnapshotMeta): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => x.length === y.length && [...x].sort().join('\0') === [...y].sort().join('\0');
  return a.index === b.index && a.term === b.term && eq(a.conf.voters, b.conf.voters) && eq(a.conf.learners, b.conf.learners);
}
