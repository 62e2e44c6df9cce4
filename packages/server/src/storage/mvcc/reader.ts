// Reads of mvcc_kv at a revision. The latest write of a key at or below revision R is one index seek;
// key order walks are a skip scan (one seek per distinct key, no open cursor, so writes may interleave)
// and orders other than by key are sorted by SQLite (its sorter spills to disk, not to this heap).
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import type { KeyRange } from './key-range.js';
import type { ByteBudget } from './errors.js';
import { KV_COLUMNS, type KvRow } from './kv-row.js';

export type SortColumn = 'key' | 'version' | 'create_rev' | 'main' | 'value';

export interface RevisionFilters {
  readonly minMod: number;
  readonly maxMod: number;
  readonly minCreate: number;
  readonly maxCreate: number;
}

type KeyStmt = Statement<unknown[], Buffer>;
type Params = Record<string, Buffer | number>;

export class KvReader {
  private readonly latestStmt: Statement<[Buffer, number], KvRow>;
  private readonly keySteps = new Map<string, KeyStmt>();
  private readonly queries = new Map<string, Statement<[Params], KvRow>>();
  private readonly counts = new Map<string, Statement<[Params], number>>();

  constructor(private readonly db: Db) {
    this.latestStmt = db.prepare(`SELECT ${KV_COLUMNS} FROM mvcc_kv WHERE key = ? AND main <= ? ORDER BY main DESC, sub DESC LIMIT 1`);
  }

  /** The latest write (possibly a tombstone) of `key` at or below `rev`. */
  latest(key: Buffer, rev: number): KvRow | undefined {
    return this.latestStmt.get(key, rev);
  }

  /** The live value of `key` at `rev`, if any. */
  live(key: Buffer, rev: number): KvRow | undefined {
    const r = this.latest(key, rev);
    return r === undefined || r.tombstone !== 0 ? undefined : r;
  }

  /** Live keys of the range at `rev`, in key order (ascending unless `descending`). */
  *scan(range: KeyRange, rev: number, descending = false): Generator<KvRow> {
    if (range.kind === 'single') {
      const r = this.live(range.key, rev);
      if (r !== undefined) yield r;
      return;
    }
    const end = range.kind === 'range' ? range.end : null;
    let at: Buffer | undefined = descending ? this.step('max', 'first', range.key, end) : this.step('min', 'first', range.key, end);
    while (at !== undefined) {
      const r = this.live(at, rev);
      if (r !== undefined) yield r;
      at = descending ? this.step('max', 'next', range.key, at) : this.step('min', 'next', at, end);
    }
  }

  /** Number of live keys of the range at `rev`, without reading their values into this process. */
  count(range: KeyRange, rev: number): number {
    if (range.kind === 'single') return this.live(range.key, rev) === undefined ? 0 : 1;
    const { sql, params } = rangeSql(range, rev, 'SELECT count(*)', '', '');
    let stmt = this.counts.get(sql);
    if (stmt === undefined) this.counts.set(sql, (stmt = this.db.prepare<[Params], number>(sql).pluck()));
    return stmt.get(params) ?? 0;
  }

  /**
   * Live keys of the range at `rev` that pass `filters`, sorted by `column` (then by key), at most `limit`
   * of them (0: all). SQLite sorts (spilling to disk, not to this heap) and stops at the limit; rows are
   * taken one at a time and charged to `budget`.
   */
  sorted(
    range: KeyRange,
    rev: number,
    column: SortColumn,
    descending: boolean,
    filters: RevisionFilters,
    limit: number,
    budget?: ByteBudget,
  ): KvRow[] {
    const order = `ORDER BY v.${column} ${descending ? 'DESC' : 'ASC'}${column === 'key' ? '' : ', v.key ASC'}`;
    const { sql, params } = rangeSql(range, rev, `SELECT ${KV_COLUMNS.replace(/(\w+)/g, 'v.$1')}`, filterSql(filters), order);
    const limited = limit > 0 ? `${sql} LIMIT :limit` : sql;
    let stmt = this.queries.get(limited);
    if (stmt === undefined) this.queries.set(limited, (stmt = this.db.prepare<[Params], KvRow>(limited)));
    const rows: KvRow[] = [];
    for (const row of stmt.iterate({ ...params, ...filters, ...(limit > 0 ? { limit } : {}) })) {
      budget?.spend(rowBytes(row));
      rows.push(row);
    }
    return rows;
  }

  /** Skip-scan step: the first key of the range, or the one after/before `from`. */
  private step(fn: 'min' | 'max', which: 'first' | 'next', from: Buffer, bound: Buffer | null): Buffer | undefined {
    let cond: string;
    if (fn === 'min') cond = `key ${which === 'first' ? '>=' : '>'} ?${bound === null ? '' : ' AND key < ?'}`;
    else cond = which === 'first' ? `key >= ?${bound === null ? '' : ' AND key < ?'}` : 'key >= ? AND key < ?';
    const sql = `SELECT ${fn}(key) FROM mvcc_kv WHERE ${cond}`;
    let stmt = this.keySteps.get(sql);
    if (stmt === undefined) this.keySteps.set(sql, (stmt = this.db.prepare<unknown[], Buffer>(sql).pluck()));
    const params = bound === null ? [from] : [from, bound];
    return stmt.get(...params) ?? undefined;
  }
}

function filterSql(f: RevisionFilters): string {
  const parts: string[] = [];
  if (f.maxMod !== 0) parts.push('v.main <= :maxMod');
  if (f.minMod !== 0) parts.push('v.main >= :minMod');
  if (f.maxCreate !== 0) parts.push('v.create_rev <= :maxCreate');
  if (f.minCreate !== 0) parts.push('v.create_rev >= :minCreate');
  return parts.map((p) => ` AND ${p}`).join('');
}

/**
 * The live rows of a multi-key range at a revision: a recursive CTE walks the distinct keys by index
 * seeks, and each key joins its latest write at or below the revision.
 */
function rangeSql(range: KeyRange, rev: number, select: string, where: string, order: string): { sql: string; params: Params } {
  const end = range.kind === 'range' ? ' AND key < :end' : '';
  const sql =
    'WITH RECURSIVE ks(k) AS (' +
    `SELECT (SELECT min(key) FROM mvcc_kv WHERE key >= :key${end}) ` +
    `UNION ALL SELECT (SELECT min(key) FROM mvcc_kv WHERE key > ks.k${end}) FROM ks WHERE ks.k IS NOT NULL) ` +
    `${select} FROM ks JOIN mvcc_kv v ON v.key = ks.k AND (v.main, v.sub) = ` +
    '(SELECT main, sub FROM mvcc_kv WHERE key = ks.k AND main <= :rev ORDER BY main DESC, sub DESC LIMIT 1) ' +
    `WHERE ks.k IS NOT NULL AND v.tombstone = 0${where} ${order}`;
  const params: Params = { key: range.key, rev };
  if (range.kind === 'range') params['end'] = range.end;
  return { sql, params };
}

/** What a row costs in an answer: its key and value (and a KeyValue's few numbers). */
export const rowBytes = (r: KvRow): number => r.key.length + r.value.length + 32;
