// Reads of mvcc_kv by revision: the writes to a key range between two revisions, in (main, sub) order —
// what a watcher that fell behind, or asked for a past revision, catches up from (etcd's syncWatchers
// reading the backend by revision).
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { KeyRange } from './key-range.js';
import { KV_COLUMNS, type KvRow } from './kv-row.js';

type Params = Record<string, Buffer | number>;

export class HistoryReader {
  private readonly stmts = new Map<KeyRange['kind'], Statement<[Params], KvRow>>();

  constructor(private readonly db: Db) {}

  /** At most `limit` writes to `range` with from <= main <= to, oldest first. */
  writes(range: KeyRange, from: number, to: number, limit: number): KvRow[] {
    let stmt = this.stmts.get(range.kind);
    if (stmt === undefined) {
      const keys = range.kind === 'single' ? 'key = :key' : range.kind === 'from' ? 'key >= :key' : 'key >= :key AND key < :end';
      const sql = `SELECT ${KV_COLUMNS} FROM mvcc_kv WHERE ${keys} AND main >= :from AND main <= :to ORDER BY main, sub LIMIT :limit`;
      this.stmts.set(range.kind, (stmt = this.db.prepare<[Params], KvRow>(sql)));
    }
    const params: Params = { key: range.key, from, to, limit };
    if (range.kind === 'range') params['end'] = range.end;
    return stmt.all(params);
  }
}
