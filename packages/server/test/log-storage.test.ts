import { removeDir, tempDir } from '@raftkv/testkit';
import type { Entry } from '@raftkv/consensus';
import { openDatabase, type Db } from '../src/storage/db.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';

const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data: Buffer.from(data) });
const range = (lo: number, hi: number, term: number): Entry[] => Array.from({ length: hi - lo + 1 }, (_, i) => ent(lo + i, term));

describe('SqliteLogStorage', () => {
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

  test('an empty log', () => {
    const s = new SqliteLogStorage(db);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.entries(1, 1, 100)).toEqual([]);
    expect(s.initialState().hardState).toEqual({ term: 0, vote: '', commit: 0 });
  });

  test('appends, answers term() and entries(), and respects maxBytes', () => {
    const s = new SqliteLogStorage(db);
    s.append([...range(1, 3, 1), ...range(4, 6, 2)]);
    expect(s.lastIndex()).toBe(6);
    expect([1, 3, 4, 6].map((i) => s.term(i))).toEqual([1, 1, 2, 2]);
    expect(s.entries(2, 5, Infinity).map((e) => e.index)).toEqual([2, 3, 4]);
    // At least one entry even if it alone exceeds maxBytes; then stop before exceeding.
    expect(s.entries(2, 6, 1).map((e) => e.index)).toEqual([2]);
    expect(s.entries(2, 6, 4).map((e) => e.index)).toEqual([2, 3]);
    expect(() => s.term(7)).toThrow(RangeError);
  });

  test('a conflicting append truncates the suffix, in memory and on disk', () => {
    const s = new SqliteLogStorage(db);
    s.append(range(1, 5, 1));
    s.append([ent(3, 2, 'x3'), ent(4, 2, 'x4')]);
    expect(s.lastIndex()).toBe(4);
    expect(s.term(2)).toBe(1);
    expect(s.term(3)).toBe(2);
    expect(Buffer.from(s.entries(3, 5, Infinity)[0]!.data).toString()).toBe('x3');
    db.close();
    db = openDatabase(dir);
    const r = new SqliteLogStorage(db);
    expect(r.lastIndex()).toBe(4);
    expect(r.entries(1, 5, Infinity).map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
    ]);
    expect(() => r.append([ent(7, 3)])).toThrow(/gap/);
  });

  test('recovers log and hard state after a restart, including entries evicted from the cache', () => {
    const s = new SqliteLogStorage(db, { maxEntries: 10, maxBytes: 1 << 20 });
    db.transaction(() => {
      s.append(range(1, 50, 1));
      s.append(range(51, 100, 3));
      s.setHardState({ term: 3, vote: 'n2', commit: 90 });
    })();
    // Old entries come from SQLite, recent ones from the cache: both must agree.
    expect(s.entries(1, 101, Infinity).map((e) => e.index)).toEqual(range(1, 100, 0).map((e) => e.index));
    db.close();
    db = openDatabase(dir);
    const r = new SqliteLogStorage(db, { maxEntries: 10, maxBytes: 1 << 20 });
    expect(r.initialState().hardState).toEqual({ term: 3, vote: 'n2', commit: 90 });
    expect(r.firstIndex()).toBe(1);
    expect(r.lastIndex()).toBe(100);
    expect(r.term(50)).toBe(1);
    expect(r.term(51)).toBe(3);
    expect(r.term(100)).toBe(3);
    const all = r.entries(1, 101, Infinity);
    expect(all).toHaveLength(100);
    expect(Buffer.from(all[41]!.data).toString()).toBe('e42');
    // Truncate inside the warmed cache and below it.
    r.append([ent(95, 4)]);
    expect(r.lastIndex()).toBe(95);
    r.append([ent(20, 5)]);
    expect(r.lastIndex()).toBe(20);
    expect(r.term(19)).toBe(1);
    expect(r.term(20)).toBe(5);
    expect(r.entries(18, 21, Infinity).map((e) => e.term)).toEqual([1, 1, 5]);
  });

  test('an uncommitted transaction leaves nothing behind', () => {
    const s = new SqliteLogStorage(db);
    expect(() =>
      db.transaction(() => {
        s.append(range(1, 3, 1));
        throw new Error('crash');
      })(),
    ).toThrow('crash');
    db.close();
    db = openDatabase(dir);
    expect(new SqliteLogStorage(db).lastIndex()).toBe(0);
  });
});
