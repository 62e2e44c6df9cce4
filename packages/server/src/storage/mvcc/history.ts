// Reads of mvcc_kv by revision: the writes to a key range between two revisions, in (main, sub) order —
// what a watcher that fell behind, or asked for a past revision, catches up from (etcd's syncWatchers
// reading the backend by revision).
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { KeyRange } from './key-range.js';
import { KV_COLUMNS, type KvRow } from './kv-row.js';

type Params = Record<string, Buffer | number>;

const SINGLE = `SELECT ${KV_COLUMNS} FROM mvcc_kv WHERE key = :key AND main >= :from AND main <= :to ORDER BY main, sub LIMIT :limit`;

/**
 * A range's writes between two revisions: the primary key is (key, main, sub), so rather than scan
 * every revision of every key in the range, walk the distinct keys by index seeks (as reader.ts's
 * ranges) and seek each one's revisions in [from, to]; SQLite sorts what it found by revision.
 */
const walkKeys = (end: string): string =>
  'WITH RECURSIVE ks(k) AS (' +
  `SELECT (SELECT min(key) FROM mvcc_kv WHERE key >= :key${end}) ` +
  `UNION ALL SELECT (SELECT min(key) FROM mvcc_kv WHERE key > ks.k${end}) FROM ks WHERE ks.k IS NOT NULL) ` +
  `SELECT ${KV_COLUMNS.replace(/(\w+)/g, 'v.$1')} FROM ks JOIN mvcc_kv v ON v.key = ks.k AND v.main >= :from AND v.main <= :to ` +
  'WHERE ks.k IS NOT NULL ORDER BY v.main, v.sub LIMIT :limit';

export class HistoryReader {
  private readonly stmts = new Map<KeyRange['kind'], Statement<[Params], KvRow>>();

  constructor(private readonly db: Db) {}

  /** At most `limit` writes to `range` with from <= main <= to, oldest first. */
  writes(range: KeyRange, from: number, to: number, limit: number): KvRow[] {
    let stmt = this.stmts.get(range.kind);
    if (stmt === undefined) {
      const sql = range.kind === 'single' ? SINGLE : walkKeys(range.kind === 'range' ? ' AND key < :end' : '');
      this.stmts.set(range.kind, (stmt = this.db.prepare<[Params], KvRow>(sql)));
    }
    const params: Params = { key: range.key, from, to, limit };
    if (range.kind === 'range') params['end'] = range.end;
    return stmt.all(params);
  }
}
