// Writing and checking snapshot files. A snapshot is a small SQLite database holding the state machine
// as of one applied index: the kv, sessions and members tables and a snapshot_meta row (index, term,
// membership). It is written from a read transaction on the node's database, on its own connection
// (run in a worker thread by snapshot-store.ts): in WAL mode the node keeps writing meanwhile, and
// the read transaction sees one consistent state, so kv, sessions, members and the applied index
// always match.
import Database from 'better-sqlite3';
import type { SnapshotMeta } from '@raftkv/consensus';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readSync, rmSync } from 'node:fs';
import { MEMBERS_SCHEMA } from './membership.js';

export interface BuiltSnapshot {
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly sha256: string;
  readonly keys: number;
}

const SNAPSHOT_SCHEMA = [
  'CREATE TABLE snap.kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID',
  `CREATE TABLE snap.sessions (client_id TEXT NOT NULL, sequence INTEGER NOT NULL, response BLOB NOT NULL,
     applied_index INTEGER NOT NULL, PRIMARY KEY (client_id, sequence)) WITHOUT ROWID`,
  MEMBERS_SCHEMA.replace('members', 'snap.members'),
  `CREATE TABLE snap.snapshot_meta (id INTEGER PRIMARY KEY CHECK (id = 0), idx INTEGER NOT NULL, term INTEGER NOT NULL,
     voters TEXT NOT NULL, learners TEXT NOT NULL)`,
];

/**
 * Copies the state machine of the database at `dbPath` into a new snapshot file `outPath`, durably.
 * Returns null when there is nothing to snapshot (nothing applied, or no membership known yet).
 */
export function buildSnapshot(dbPath: string, outPath: string): BuiltSnapshot | null {
  rmSync(outPath, { force: true });
  if (!existsSync(dbPath)) throw new Error(`${dbPath} does not exist`);
  // (fileMustExist would also apply to the attached snapshot file, which does not exist yet.)
  const db = new Database(dbPath);
  let meta: SnapshotMeta | null = null;
  let keys = 0;
  try {
    db.pragma('busy_timeout = 10000');
    db.prepare('ATTACH DATABASE ? AS snap').run(outPath);
    db.pragma('snap.journal_mode = OFF'); // a half-written file is discarded, never used
    db.pragma('snap.synchronous = OFF'); // fsynced once at the end
    for (const sql of SNAPSHOT_SCHEMA) db.exec(sql);
    // One transaction: the read snapshot of the node's database is taken at the first read, and every
    // table below is copied from that same state.
    db.transaction(() => {
      const m = db.prepare('SELECT applied_index, applied_term FROM main.meta WHERE id = 0').get() as { applied_index: number; applied_term: number };
      const members = db.prepare('SELECT id, voter FROM main.members ORDER BY id').all() as { id: string; voter: number }[];
      const voters = members.filter((r) => r.voter === 1).map((r) => r.id);
      if (m.applied_index === 0 || voters.length === 0) return;
      const learners = members.filter((r) => r.voter !== 1).map((r) => r.id);
      meta = { index: m.applied_index, term: m.applied_term, conf: { voters, learners } };
      keys = db.prepare('INSERT INTO snap.kv (key, value) SELECT key, value FROM main.kv').run().changes;
      db.prepare('INSERT INTO snap.sessions SELECT client_id, sequence, response, applied_index FROM main.sessions').run();
      db.prepare('INSERT INTO snap.members SELECT id, address, voter FROM main.members').run();
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

/** The meta row of a snapshot file, or an Error saying why the file is not a usable snapshot. */
export function readSnapshotMeta(path: string): SnapshotMeta | Error {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const r = db.prepare('SELECT idx, term, voters, learners FROM snapshot_meta WHERE id = 0').get() as
      | { idx: number; term: number; voters: string; learners: string }
      | undefined;
    if (r === undefined) return new Error('snapshot has no meta row');
    for (const t of ['kv', 'sessions', 'members']) db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get();
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

export function sameMeta(a: SnapshotMeta, b: SnapshotMeta): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => x.length === y.length && [...x].sort().join('\0') === [...y].sort().join('\0');
  return a.index === b.index && a.term === b.term && eq(a.conf.voters, b.conf.voters) && eq(a.conf.learners, b.conf.learners);
}
