// `snapshot status` of a backup file, with etcd's columns (clientv3/snapshot Status): a crc32c (Castagnoli)
// hash over every table's name and rows, the store's revision, the total number of rows in every table
// (etcd counts every key of every bucket) and the database's size (without the checksum).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupFileError, extractBackup, openChecked } from './backup-file.js';
import { Crc32c } from './crc32c.js';
import { SNAPSHOT_META_TABLE } from './schema.js';

export interface BackupStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

/** Verifies the checksum, then reads the snapshot's tables. Throws BackupFileError saying what is wrong. */
export function backupStatus(path: string): BackupStatus {
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-status-'));
  try {
    const dbPath = join(dir, 'snapshot.db');
    const { bytes } = extractBackup(path, dbPath);
    const db = openChecked(dbPath, path);
    try {
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]).filter(
        (n) => !n.startsWith('sqlite_'),
      );
      if (!tables.includes(SNAPSHOT_META_TABLE.name) || !tables.includes('mvcc_meta'))
        throw new BackupFileError(`${path}: not a raftkv snapshot (no ${SNAPSHOT_META_TABLE.name} or mvcc_meta table)`);
      const h = new Crc32c();
      const num = Buffer.alloc(8);
      let totalKey = 0;
      for (const t of tables) {
        h.update(Buffer.from(t, 'utf8'));
        const cols = (db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).map((c) => `"${c}"`);
        const rows = db
          .prepare(`SELECT ${cols.join(', ')} FROM "${t}" ORDER BY ${cols.join(', ')}`)
          .raw()
          .iterate() as IterableIterator<unknown[]>;
        for (const row of rows) {
          totalKey++;
          for (const v of row) {
            if (Buffer.isBuffer(v)) h.update(v);
            else if (typeof v === 'string') h.update(Buffer.from(v, 'utf8'));
            else if (typeof v === 'number') {
              num.writeDoubleBE(v);
              h.update(num);
            }
          }
        }
      }
      const revision = db.prepare('SELECT current_rev FROM mvcc_meta WHERE id = 0').pluck().get() as number | undefined;
      return { hash: h.sum(), revision: revision ?? 0, totalKey, totalSize: bytes };
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
