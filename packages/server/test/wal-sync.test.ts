import { removeDir, tempDir } from '@raftkv/testkit';
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../src/storage/db.js';
import { Checkpointer, WalSync } from '../src/storage/wal-sync.js';

// The worker runs compiled code (npm test builds first).
const CHECKPOINT_WORKER = new URL('../dist/storage/checkpoint-worker.js', import.meta.url);

const sync = (w: WalSync): Promise<Error | null> => new Promise((resolve) => w.sync(resolve));

describe('WalSync', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
  });
  afterEach(() => {
    if (db.open) db.close();
    removeDir(dir);
  });

  test('fsyncs what a synchronous=OFF transaction committed', async () => {
    const w = new WalSync(db.name);
    db.pragma('synchronous = OFF');
    db.prepare(
      "INSERT INTO mvcc_kv (key, main, sub, create_rev, version, lease, value, tombstone) VALUES ('a', 2, 0, 2, 1, 0, x'01', 0)",
    ).run();
    expect(await sync(w)).toBeNull();
    await w.close();
    expect(await sync(w)).toEqual(expect.objectContaining({ message: 'the WAL is closed' }));
  });

  test('refuses to sync a WAL file that is no longer the one SQLite writes', async () => {
    const w = new WalSync(db.name);
    db.close(); // the last connection: SQLite checkpoints and deletes the WAL
    db = openDatabase(dir); // a new WAL file
    const err = await sync(w);
    expect(err?.message).toMatch(/was replaced|ENOENT/);
    await w.close();
  });

  test('close waits for a sync in flight', async () => {
    const w = new WalSync(db.name);
    let synced = false;
    w.sync(() => (synced = true));
    await w.close();
    expect(synced).toBe(true);
  });
});

describe('Checkpointer', () => {
  test('copies the WAL into the database file while the writer never checkpoints', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    db.pragma('wal_checkpoint(TRUNCATE)'); // the schema is in the database file
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('synchronous = OFF');
    const put = db.prepare(
      'INSERT INTO mvcc_kv (key, main, sub, create_rev, version, lease, value, tombstone) VALUES (?, 2, 0, 2, 1, 0, ?, 0)',
    );
    db.transaction(() => {
      for (let i = 0; i < 500; i++) put.run(`k${i}`, Buffer.alloc(100, i));
    })();
    // The database file alone does not have the rows yet: they are only in the WAL.
    const countIn = (file: string): number => {
      const copy = join(tempDir(), 'copy.db');
      copyFileSync(file, copy);
      expect(existsSync(`${copy}-wal`)).toBe(false);
      const c = new Database(copy, { readonly: true });
      try {
        return c.prepare('SELECT COUNT(*) FROM mvcc_kv').pluck().get() as number;
      } finally {
        c.close();
      }
    };
    expect(countIn(db.name)).toBe(0);
    const errors: string[] = [];
    const cp = new Checkpointer({ dbPath: db.name, intervalMs: 20, onError: (m) => errors.push(m), workerUrl: CHECKPOINT_WORKER });
    const until = Date.now() + 10_000;
    while (countIn(db.name) < 500 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await cp.close();
    expect(countIn(db.name)).toBe(500);
    expect(errors).toEqual([]);
    db.close();
    removeDir(dir);
  });

  test('a WAL that a steady writer never lets restart is truncated once past the bound', async () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('synchronous = OFF');
    const put = db.prepare(
      'INSERT INTO mvcc_kv (key, main, sub, create_rev, version, lease, value, tombstone) VALUES (?, 2, 0, 2, 1, 0, ?, 0)',
    );
    const wal = (): number => statSync(`${db.name}-wal`).size;
    const errors: string[] = [];
    const bound = 256 * 1024;
    const cp = new Checkpointer({
      dbPath: db.name,
      intervalMs: 20,
      truncateAboveBytes: bound,
      onError: (m) => errors.push(m),
      workerUrl: CHECKPOINT_WORKER,
    });
    // Writes back to back for 1.5 s: a PASSIVE checkpoint never catches up, so without truncation the file only grows.
    const until = Date.now() + 1500;
    for (let i = 0; Date.now() < until; i++) {
      db.transaction(() => put.run(`k${i}`, Buffer.alloc(4000, i % 256)))();
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await cp.close();
    const written = db.prepare('SELECT COUNT(*) FROM mvcc_kv').pluck().get() as number;
    expect(written * 4000).toBeGreaterThan(4 * bound); // far more than the bound went through the WAL
    expect(wal()).toBeLessThan(written * 4000); // ... yet the file is not all of it: it was truncated
    expect(errors).toEqual([]);
    db.close();
    removeDir(dir);
  });

  test('reports a database it cannot open', async () => {
    const errors: string[] = [];
    const cp = new Checkpointer({
      dbPath: join(tempDir(), 'missing.db'),
      intervalMs: 20,
      onError: (m) => errors.push(m),
      workerUrl: CHECKPOINT_WORKER,
    });
    const until = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await cp.close();
    expect(errors[0]).toMatch(/unable to open|does not exist|missing/i);
  });
});
