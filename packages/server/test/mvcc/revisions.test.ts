// Revision arithmetic as etcd's: 1 when empty, +1 per write, sub-revisions inside a Txn, nothing for a
// write that changes nothing; version and create_revision per key generation.
import { cmp, del, get, op, openStore, put, txn, type OpenStore } from './helpers.js';

let s: OpenStore;
beforeEach(() => (s = openStore()));
afterEach(() => s.close());

test('a fresh store is at revision 1 and the first put makes it 2', () => {
  expect(s.store.currentRevision()).toBe(1);
  expect(s.store.put(put('a', '1')).header?.revision).toBe(2);
  expect(s.store.currentRevision()).toBe(2);
});

test('a delete of nothing and a read-only txn do not advance the revision', () => {
  s.store.put(put('a', '1'));
  expect(s.store.deleteRange(del('zz')).header?.revision).toBe(2);
  expect(s.store.deleteRange(del('b', { rangeEnd: 'c' })).deleted).toBe(0);
  expect(s.store.txn(txn([], [op.get(get('a'))])).header?.revision).toBe(2);
  expect(s.store.txn(txn([cmp('version', 'a', '=', 9)], [op.put(put('x', '1'))], [op.del(del('nothing'))])).header?.revision).toBe(2);
  expect(s.store.currentRevision()).toBe(2);
});

test('a txn with three writes advances by one, with sub-revisions 0..2', () => {
  s.store.put(put('a', '1'));
  const r = s.store.txn(txn([], [op.put(put('b', '1')), op.put(put('c', '1')), op.del(del('a'))]));
  expect(r.header?.revision).toBe(3);
  const rows = s.db.prepare('SELECT CAST(key AS TEXT) AS k, main, sub, tombstone FROM mvcc_kv WHERE main = 3 ORDER BY sub').all();
  expect(rows).toEqual([
    { k: 'b', main: 3, sub: 0, tombstone: 0 },
    { k: 'c', main: 3, sub: 1, tombstone: 0 },
    { k: 'a', main: 3, sub: 2, tombstone: 1 },
  ]);
});

test('version counts puts of a generation; a delete resets it; a re-created key gets a new create_revision', () => {
  s.store.put(put('a', '1')); // 2
  s.store.put(put('a', '2')); // 3
  expect(s.store.range(get('a')).kvs[0]).toMatchObject({ createRevision: 2, modRevision: 3, version: 2 });
  s.store.deleteRange(del('a')); // 4
  expect(s.store.range(get('a')).count).toBe(0);
  s.store.put(put('a', '3')); // 5
  expect(s.store.range(get('a')).kvs[0]).toMatchObject({ createRevision: 5, modRevision: 5, version: 1 });
  // history: each past revision reads its own generation
  expect(s.store.range(get('a', { revision: 3 })).kvs[0]).toMatchObject({ createRevision: 2, version: 2, value: Buffer.from('2') });
  expect(s.store.range(get('a', { revision: 4 })).kvs).toEqual([]);
  expect(s.store.range(get('a', { revision: 4 })).header?.revision).toBe(5);
});

test('a delete over a range tombstones each live key at one revision', () => {
  for (const k of ['p1', 'p2', 'p3', 'q']) s.store.put(put(k, 'v'));
  s.store.deleteRange(del('p2'));
  const r = s.store.deleteRange(del('p', { prefix: true, prevKv: true }));
  expect(r).toMatchObject({ deleted: 2, header: { revision: 7 } });
  expect(r.prevKvs.map((kv) => kv.key.toString())).toEqual(['p1', 'p3']);
  expect(s.store.range(get('', { fromKey: true })).kvs.map((kv) => kv.key.toString())).toEqual(['q']);
});

test('reads inside a txn see its earlier writes; their headers carry the txn revision', () => {
  s.store.put(put('a', '1')); // 2
  const r = s.store.txn(txn([], [op.get(get('a')), op.put(put('a', '2')), op.get(get('a')), op.del(del('zz'))]));
  const [before, , after, delNothing] = r.responses.map((x) => x.response);
  expect(before?.$case === 'responseRange' && before.responseRange.header?.revision).toBe(2);
  expect(before?.$case === 'responseRange' && before.responseRange.kvs[0]?.value.toString()).toBe('1');
  expect(after?.$case === 'responseRange' && after.responseRange.header?.revision).toBe(3);
  expect(after?.$case === 'responseRange' && after.responseRange.kvs[0]).toMatchObject({ version: 2, value: Buffer.from('2') });
  // etcd's DeleteRange reports the txn's revision once the txn has written, even when it deleted nothing
  expect(delNothing?.$case === 'responseDeleteRange' && delNothing.responseDeleteRange.header?.revision).toBe(3);
});
