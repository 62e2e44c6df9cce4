// Request checks with etcd's messages (v3rpc/key.go and rpctypes, 3.4).
import { EtcdInvalidArgumentError } from '../../src/storage/mvcc/errors.js';
import { MAX_TXN_OPS } from '../../src/storage/mvcc/validation.js';
import { cmp, del, get, op, openStore, put, txn, type OpenStore } from './helpers.js';

let s: OpenStore;
beforeEach(() => (s = openStore()));
afterEach(() => s.close());

test('an empty key is refused everywhere', () => {
  const msg = 'etcdserver: key is not provided';
  expect(() => s.store.range(get(''))).toThrow(msg);
  expect(() => s.store.put(put('', 'v'))).toThrow(msg);
  expect(() => s.store.deleteRange(del(''))).toThrow(msg);
  expect(() => s.store.txn(txn([cmp('version', '', '=', 0)], []))).toThrow(msg);
  expect(() => s.store.txn(txn([], [op.get(get(''))]))).toThrow(EtcdInvalidArgumentError);
});

test('put flags', () => {
  expect(() => s.store.put(put('a', 'v', { ignoreValue: true }))).toThrow('etcdserver: value is provided');
  expect(() => s.store.put(put('a', '', { ignoreLease: true, lease: 1 }))).toThrow('etcdserver: lease is provided');
  expect(() => s.store.put(put('a', '', { ignoreValue: true }))).toThrow('etcdserver: key not found');
  expect(() => s.store.put(put('a', 'v', { lease: 5 }))).toThrow('etcdserver: requested lease not found');
  s.store.put(put('a', 'v'));
  const r = s.store.put(put('a', '', { ignoreValue: true, prevKv: true }));
  expect(r.prevKv).toMatchObject({ value: Buffer.from('v'), version: 1 });
  expect(s.store.range(get('a')).kvs[0]).toMatchObject({ value: Buffer.from('v'), version: 2 });
  expect(s.store.currentRevision()).toBe(3);
});

test('too many operations: more than 128 compares or ops in a branch', () => {
  const puts = (n: number): ReturnType<typeof op.put>[] => Array.from({ length: n }, (_, i) => op.put(put(`k${i}`, 'v')));
  expect(() => s.store.txn(txn([], puts(MAX_TXN_OPS + 1)))).toThrow('etcdserver: too many operations in txn request');
  expect(s.store.txn(txn([], puts(MAX_TXN_OPS))).header?.revision).toBe(2);
});

test('duplicate keys in a txn, as etcd sees them', () => {
  const dup = 'etcdserver: duplicate key given in txn request';
  expect(() => s.store.txn(txn([], [op.put(put('a', '1')), op.put(put('a', '2'))]))).toThrow(dup);
  expect(() => s.store.txn(txn([], [op.del(del('a', { rangeEnd: 'c' })), op.put(put('b', '2'))]))).toThrow(dup);
  expect(() => s.store.txn(txn([], [op.put(put('a', '1')), op.txn(txn([], [op.put(put('a', '2'))]))]))).toThrow(dup);
  // the same key in both branches of a nested txn is fine: only one runs
  const both = txn([], [op.txn(txn([], [op.put(put('a', '1'))], [op.put(put('a', '2'))]))]);
  expect(s.store.txn(both).header?.revision).toBe(2);
  // etcd's quirk: a from-key delete ("\0" range_end) is an empty interval and conflicts with nothing
  // (checked on etcd 3.4.23: `del a --from-key` and `put b 1` in one `etcdctl txn` succeed)
  const fromKey = op.del({ key: Buffer.from('a'), rangeEnd: Buffer.from([0]), prevKv: false });
  expect(s.store.txn(txn([], [fromKey, op.put(put('b', '1'))])).header?.revision).toBe(3);
  // an empty op is refused as etcd refuses it
  expect(() => s.store.txn(txn([], [{ request: undefined }]))).toThrow('etcdserver: key not found');
});
