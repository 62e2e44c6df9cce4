// etcd's Maintenance Hash and HashKV on raftkv's database (CRC-32C, as etcd).
//   Hash:   every table of this node's database (log, hard state and bookkeeping included): node-local,
//           like etcd's hash of its whole bolt file; it differs between members.
//   HashKV: the MVCC history up to a revision (mvcc_kv rows with main <= revision, in revision order):
//           equal on every member at one revision, since every member applies the same entries and
//           compacts the same rows away (etcd's HashByRev; its compact_revision is answered beside it).
import type { Db } from './db.js';
import { Crc32c } from './crc32c.js';
import { CompactedError, FutureRevisionError } from './mvcc/errors.js';
import { TABLES } from './schema.js';

/** Feeds one SQLite value to the hash, with its type and length, so different rows never collide by concatenation. */
function feed(h: Crc32c, v: unknown): void {
  const head = Buffer.alloc(9);
  let body: Buffer;
  if (v === null || v === undefined) {
    head[0] = 0;
    body = Buffer.alloc(0);
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    head[0] = 1;
    body = Buffer.from(String(v), 'utf8');
  } else if (typeof v === 'string') {
    head[0] = 2;
    body = Buffer.from(v, 'utf8');
  } else {
    head[0] = 3;
    body = Buffer.from(v as Uint8Array);
  }
  head.writeBigUInt64BE(BigInt(body.length), 1);
  h.update(head).update(body);
}

/** etcd's Hash: CRC-32C of every row of every table of the node's database, tables by name, rows in primary-key order. */
export function hashDatabase(db: Db): number {
  const h = new Crc32c();
  return db.transaction(() => {
    for (const t of [...TABLES].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      h.update(Buffer.from(t.name, 'utf8'));
      const rows = db
        .prepare(`SELECT ${t.columns.join(', ')} FROM ${t.name} ORDER BY ${t.columns[0]!}`)
        .raw()
        .iterate() as IterableIterator<unknown[]>;
      for (const row of rows) for (const v of row) feed(h, v);
    }
    return h.sum();
  })();
}

export interface KvHash {
  readonly hash: number;
  readonly currentRevision: number;
  readonly compactRevision: number;
}

/**
 * etcd's HashKV: CRC-32C of the MVCC history up to `revision` (0: the current one). A revision at or
 * below the compacted one, or above the current one, is refused with etcd's errors.
 */
export function hashKv(db: Db, revision: number): KvHash {
  return db.transaction(() => {
    const [current, compacted] = db.prepare('SELECT current_rev, compact_rev FROM mvcc_meta WHERE id = 0').raw().get() as [number, number];
    if (revision > 0 && revision <= compacted) throw new CompactedError();
    if (revision > current) throw new FutureRevisionError();
    const upTo = revision === 0 ? current : revision;
    const h = new Crc32c();
    h.update(Buffer.from('key', 'utf8')); // etcd hashes its bucket's name first
    const rows = db
      .prepare('SELECT main, sub, key, create_rev, version, lease, value, tombstone FROM mvcc_kv WHERE main <= ? ORDER BY main, sub')
      .raw()
      .iterate(upTo) as IterableIterator<unknown[]>;
    for (const row of rows) for (const v of row) feed(h, v);
    return { hash: h.sum(), currentRevision: current, compactRevision: compacted };
  })();
}
