// BackendQuota's bookkeeping: a recent measurement plus the costs admitted since stand in for a query,
// and a refusal is only ever made on a fresh measurement.
import Database from 'better-sqlite3';
import { BackendQuota } from '../src/storage/quota.js';

describe('BackendQuota', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v BLOB)');
  const pageSize = (db.pragma('page_size', { simple: true }) as number) ?? 4096;
  afterAll(() => db.close());

  test('admits by estimate while far from the quota, refuses only after measuring', () => {
    let now = 0;
    const used = () => new BackendQuota(db, 1 << 30).usedBytes();
    const base = used();
    const q = new BackendQuota(db, base + 100 * pageSize, () => now);
    expect(q.available(10 * pageSize)).toBe(true); // measured: base; admitted 10 pages
    // The database grows behind the estimate's back (another writer): the estimate does not see it...
    db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(50 * pageSize));
    expect(q.available(10 * pageSize)).toBe(true); // estimate: base + 20 pages
    // ...until a write would pass the quota by the estimate: then it measures (base + ~51 pages) and decides on that.
    expect(q.available(85 * pageSize)).toBe(false);
    expect(q.available(30 * pageSize)).toBe(true); // estimate now: the measurement + 30 pages
    // An old measurement is taken again even when the estimate fits (the estimate says ~97 of 102 pages).
    db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(40 * pageSize));
    now += 1000;
    expect(q.available(15 * pageSize)).toBe(false);
    expect(q.available(0)).toBe(true); // a write that costs nothing always fits
  });

  test('no quota: everything fits', () => {
    expect(new BackendQuota(db, 0).available(1 << 40)).toBe(true);
  });
});
