// A backup file: a snapshot file exactly as snapshot-build.ts makes it (a SQLite database of the state
// tables and a snapshot_meta row) followed by the 32-byte sha256 of those bytes, as etcd appends its
// checksum to the bolt database it streams. The Maintenance.Snapshot stream sends these bytes, and
// `raftctl snapshot save` / `etcdctl snapshot save` write them to a file as they come.
// SQLite files are whole pages (512 bytes at least), so as in etcd a size of 32 past a multiple of 512
// says the checksum is there.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { buildSnapshot, type BuiltSnapshot } from './snapshot-build.js';

export const CHECKSUM_BYTES = 32;

/** The file is not a usable backup (missing, truncated, corrupt, or not a raftkv snapshot). */
export class BackupFileError extends Error {
  override readonly name = 'BackupFileError';
}

/** etcd's test (clientv3/snapshot): a file carries its checksum when its size is 32 past a multiple of 512. */
export const hasChecksum = (bytes: number): boolean => bytes % 512 === CHECKSUM_BYTES;

const PIECE = 1 << 20;

/**
 * Copies the database part of backup `path` to `outPath` (fsynced) and checks the checksum it carries;
 * `skipHashCheck` also accepts a bare snapshot database without one. Returns the database's size.
 */
export function extractBackup(path: string, outPath: string, o: { skipHashCheck?: boolean } = {}): { bytes: number; sha256: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new BackupFileError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    const withSum = hasChecksum(size);
    if (!withSum && o.skipHashCheck !== true)
      throw new BackupFileError(
        `${path}: sha256 checksum not found [bytes: ${size}] (a truncated file, or a bare database: then use --skip-hash-check)`,
      );
    const dbBytes = withSum ? size - CHECKSUM_BYTES : size;
    const h = createHash('sha256');
    const out = openSync(outPath, 'w');
    try {
      const buf = Buffer.allocUnsafe(PIECE);
      for (let at = 0; at < dbBytes; ) {
        const n = readSync(fd, buf, 0, Math.min(PIECE, dbBytes - at), at);
        if (n === 0) throw new BackupFileError(`${path}: ended at ${at} of ${dbBytes} bytes while being read`);
        h.update(buf.subarray(0, n));
        writeSync(out, buf, 0, n);
        at += n;
      }
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    const sha256 = h.digest();
    if (withSum) {
      const stored = Buffer.alloc(CHECKSUM_BYTES);
      readSync(fd, stored, 0, CHECKSUM_BYTES, dbBytes);
      if (!stored.equals(sha256) && o.skipHashCheck !== true) {
        rmSync(outPath, { force: true });
        throw new BackupFileError(
          `${path}: sha256 checksum mismatch (expected ${stored.toString('hex')}, got ${sha256.toString('hex')}): the file is corrupt`,
        );
      }
    }
    return { bytes: dbBytes, sha256: sha256.toString('hex') };
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes a backup file of the node database at `dbPath`: a snapshot built into `outPath`.part, its
 * checksum appended, fsynced, then renamed to `outPath`. Null when there is nothing to back up yet.
 */
export function writeBackupFile(dbPath: string, outPath: string): BuiltSnapshot | null {
  const part = `${outPath}.part`;
  try {
    const built = buildSnapshot(dbPath, part);
    if (built === null) return null;
    const fd = openSync(part, 'a');
    try {
      writeSync(fd, Buffer.from(built.sha256, 'hex'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(part, outPath);
    return built;
  } finally {
    rmSync(part, { force: true });
  }
}

/** Opens an extracted snapshot database read-only after SQLite's own integrity check. */
export function openChecked(dbPath: string, what: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const problems = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    const bad = problems.map((p) => p.integrity_check).filter((s) => s !== 'ok');
    if (bad.length > 0) throw new BackupFileError(`${what}: integrity check failed: ${bad.slice(0, 5).join('; ')}`);
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof BackupFileError) throw e;
    throw new BackupFileError(`${what}: not a readable raftkv snapshot: ${(e as Error).message}`, { cause: e });
  }
}
