// Compaction keeps what reads at and after the compacted revision need, and nothing else.
import { CompactedError, FutureRevisionError } from '../../src/storage/mvcc/errors.js';
import { del, get, op, openStore, put, txn, type OpenStore } from './helpers.js';

let s: OpenStore;
beforeEach(() => {
  s = openStore();
  s.store.put(put('a', '1')); // 2
  s.store.put(put('a', '2')); // 3
  s.store.put(put('b', '1')); // 4
  s.store.deleteRange(del('b')); // 5
  s.store.put(put('c', '1')); // 6
  s.store.put(put('a', '3')); // 7
});
afterEach(() => s.close());

type Row = { k: string; main: number; tombstone: number };
const rows = (): string[] =>
  (s.db.prepare('SELECT CAST(key AS TEXT) AS k, main, tombstone FROM mvcc_kv ORDER BY key, main').all() as Row[]).map(
    (r) => `${r.k}@${r.main}${r.tombstone ? 'x' : ''}`,
  );

test('compacting at R keeps the latest live write of each key at or below R, and everything after R', () => {
  const before = s.store.range(get('', { fromKey: true, revision: 6 }));
  expect(s.store.compact({ revision: 6, physical: true }).header?.revision).toBe(7);
  expect(rows()).toEqual(['a@3', 'a@7', 'c@6']);
  expect(s.store.range(get('', { fromKey: true, revision: 6 }))).toEqual(before);
  expect(s.store.compactedRevision()).toBe(6);
});

test('reads below the compacted revision fail; at it, they work; above the current one, they fail', () => {
  s.store.compact({ revision: 5, physical: false });
  expect(() => s.store.range(get('a', { revision: 4 }))).toThrow(CompactedError);
  expect(s.store.range(get('a', { revision: 5 })).kvs[0]?.value.toString()).toBe('2');
  expect(() => s.store.range(get('a', { revision: 8 }))).toThrow(FutureRevisionError);
  expect(() => s.store.txn(txn([], [op.get(get('a', { revision: 4 }))]))).toThrow('etcdserver: mvcc: required revision has been compacted');
});

test('compaction refuses a revision at or below the last one, or above the current one', () => {
  s.store.compact({ revision: 5, physical: false });
  expect(() => s.store.compact({ revision: 5, physical: false })).toThrow('etcdserver: mvcc: required revision has been compacted');
  expect(() => s.store.compact({ revision: 4, physical: false })).toThrow(CompactedError);
  expect(() => s.store.compact({ revision: 8, physical: false })).toThrow('etcdserver: mvcc: required revision is a future revision');
  s.store.compact({ revision: 7, physical: false });
  expect(rows()).toEqual(['a@7', 'c@6']);
  // compaction does not move the revision; new writes keep counting from it
  expect(s.store.put(put('d', '1')).header?.revision).toBe(8);
});
