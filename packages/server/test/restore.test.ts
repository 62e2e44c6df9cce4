// restoreDataDir on files made here: what a restored data dir holds (the file's state, the new membership,
// an empty log after the snapshot's index, the cluster id, its own snapshot), files older or newer than
// this binary's schema, and the refusals.
import { removeDir, tempDir } from '@raftkv/testkit';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackupFileError, writeBackupFile } from '../src/storage/backup-file.js';
import { openDatabase } from '../src/storage/db.js';
import { restoreDataDir, restoredClusterId } from '../src/storage/restore.js';

const peers = new Map([
  ['x', '127.0.0.1:1'],
  ['y', '127.0.0.1:2'],
]);

describe('restoreDataDir', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir();
    const src = join(dir, 'src');
    const db = openDatabase(src);
    db.prepare("INSERT INTO members (id, address, voter) VALUES ('a', 'old:1', 1), ('b', 'old:2', 1)").run();
    db.prepare('UPDATE meta SET applied_index = 7, applied_term = 2').run();
    db.prepare("INSERT INTO mvcc_kv VALUES (CAST('k' AS BLOB), 2, 0, 2, 1, 0, CAST('v' AS BLOB), 0)").run();
    db.prepare('UPDATE mvcc_meta SET current_rev = 2').run();
    db.close();
    file = join(dir, 'backup.db');
    writeBackupFile(join(src, 'raftkv.db'), file);
  });
  afterEach(() => removeDir(dir));

  /** A copy of the backup with `sql` run on its database (and its checksum made again). */
  function edited(sql: string): string {
    const bytes = readFileSync(file);
    const db = join(dir, 'edit.db');
    writeFileSync(db, bytes.subarray(0, bytes.length - 32));
    const d = new Database(db);
    d.exec(sql);
    d.close();
    const body = readFileSync(db);
    const out = join(dir, 'edited-backup.db');
    writeFileSync(out, Buffer.concat([body, createHash('sha256').update(body).digest()]));
    return out;
  }

  test('a member of a new cluster: the state, the given members, the log after the index, its cluster id', () => {
    const dataDir = join(dir, 'x');
    const r = restoreDataDir({ file, dataDir, id: 'x', peers });
    const sha = readFileSync(file).subarray(-32).toString('hex');
    expect(r).toMatchObject({ index: 7, term: 2, revision: 2, clusterId: restoredClusterId(sha) });
    const db = new Database(join(dataDir, 'raftkv.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT id, address, voter FROM members ORDER BY id').all()).toEqual([
        { id: 'x', address: '127.0.0.1:1', voter: 1 },
        { id: 'y', address: '127.0.0.1:2', voter: 1 },
      ]);
      expect(db.prepare('SELECT applied_index, applied_term FROM meta').get()).toEqual({ applied_index: 7, applied_term: 2 });
      expect(db.prepare('SELECT idx, term FROM log_base').get()).toEqual({ idx: 7, term: 2 });
      expect(db.prepare('SELECT count(*) AS n FROM log').get()).toEqual({ n: 0 });
      expect(db.prepare('SELECT term, vote, commit_idx FROM hard_state').get()).toEqual({ term: 2, vote: '', commit_idx: 7 });
      expect(db.prepare('SELECT cluster_id FROM cluster_identity').pluck().get()).toBe(r.clusterId);
      expect(db.prepare("SELECT value FROM mvcc_kv WHERE key = CAST('k' AS BLOB)").pluck().get()).toEqual(Buffer.from('v'));
      const snap = db.prepare('SELECT file, voters FROM snapshot_state').get() as { file: string; voters: string };
      expect(snap.voters).toBe('["x","y"]');
      expect(existsSync(join(dataDir, 'snapshots', snap.file))).toBe(true);
    } finally {
      db.close();
    }
    expect(existsSync(join(dataDir, '.restore'))).toBe(false);
  });

  test('a file without a state table this binary has restores; one with a table it does not know is refused', () => {
    const older = edited('DROP TABLE sessions');
    expect(restoreDataDir({ file: older, dataDir: join(dir, 'older'), id: 'x', peers, clusterId: 'c' }).index).toBe(7);
    const newer = edited('CREATE TABLE future_state (id INTEGER PRIMARY KEY)');
    expect(() => restoreDataDir({ file: newer, dataDir: join(dir, 'newer'), id: 'x', peers })).toThrow(/future_state/);
    expect(existsSync(join(dir, 'newer', 'raftkv.db'))).toBe(false);
  });

  test('refuses a non-empty data dir, an id not among the members, a corrupt file', () => {
    mkdirSync(join(dir, 'full'));
    writeFileSync(join(dir, 'full', 'something'), 'x');
    expect(() => restoreDataDir({ file, dataDir: join(dir, 'full'), id: 'x', peers })).toThrow(/is not empty/);
    expect(() => restoreDataDir({ file, dataDir: join(dir, 'z'), id: 'z', peers })).toThrow(BackupFileError);
    const bytes = readFileSync(file);
    bytes[10] = bytes[10]! ^ 1;
    writeFileSync(join(dir, 'bad.db'), bytes);
    expect(() => restoreDataDir({ file: join(dir, 'bad.db'), dataDir: join(dir, 'bad'), id: 'x', peers })).toThrow(/checksum mismatch/);
    expect(existsSync(join(dir, 'bad', 'raftkv.db'))).toBe(false);
  });
});
