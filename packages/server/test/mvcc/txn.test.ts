// Txn compares (targets, results, range_end), nested txns, and the moment compares are decided.
import { cmp, del, get, op, openStore, put, txn, type OpenStore } from './helpers.js';

let s: OpenStore;
beforeEach(() => {
  s = openStore({ leaseExists: (id) => id === 7 });
  s.store.put(put('a', 'm')); // 2
  s.store.put(put('b', 'm', { lease: 7 })); // 3
  s.store.put(put('b', 'n', { ignoreLease: true })); // 4: keeps lease 7
});
afterEach(() => s.close());

const succeeds = (...cs: Parameters<typeof cmp>[]): boolean =>
  s.store.txn(
    txn(
      cs.map((c) => cmp(...c)),
      [],
    ),
  ).succeeded;

test('compare targets and results', () => {
  expect(succeeds(['value', 'a', '=', 'm'])).toBe(true);
  expect(succeeds(['value', 'a', '>', 'l'], ['value', 'a', '<', 'n'], ['value', 'a', '!=', 'x'])).toBe(true);
  expect(succeeds(['version', 'b', '=', 2], ['create', 'b', '=', 3], ['mod', 'b', '=', 4], ['lease', 'b', '=', 7])).toBe(true);
  expect(succeeds(['version', 'b', '>', 2])).toBe(false);
  expect(succeeds(['lease', 'a', '=', 0])).toBe(true);
});

test('an absent key compares as zero, but a value compare on it always fails', () => {
  expect(succeeds(['version', 'zz', '=', 0], ['create', 'zz', '=', 0], ['mod', 'zz', '<', 1])).toBe(true);
  expect(succeeds(['value', 'zz', '=', ''])).toBe(false);
  expect(succeeds(['value', 'zz', '!=', 'x'])).toBe(false);
});

test('a compare with range_end must hold for every key of the range', () => {
  expect(succeeds(['value', 'a', '=', 'm', 'c'])).toBe(false); // b is 'n'
  expect(succeeds(['mod', 'a', '<', 5, 'c'])).toBe(true);
  expect(succeeds(['version', 'a', '>', 0, '\0'])).toBe(true);
});

test('nested txns: every compare is decided on the state before the txn', () => {
  const inner = txn([cmp('version', 'a', '=', 1)], [op.put(put('inner', 'then'))], [op.put(put('inner', 'else'))]);
  const r = s.store.txn(txn([cmp('value', 'a', '=', 'm')], [op.put(put('a', 'changed')), op.txn(inner)]));
  expect(r.succeeded).toBe(true);
  expect(r.header?.revision).toBe(5);
  const nested = r.responses[1]?.response;
  expect(nested?.$case === 'responseTxn' && nested.responseTxn.succeeded).toBe(true);
  expect(nested?.$case === 'responseTxn' && nested.responseTxn.header?.revision).toBe(0);
  expect(s.store.range(get('inner')).kvs[0]).toMatchObject({ value: Buffer.from('then'), modRevision: 5 });
  expect(s.store.range(get('a')).kvs[0]).toMatchObject({ value: Buffer.from('changed'), version: 2 });
});

test('the failure branch runs when a compare fails, at the next revision', () => {
  const r = s.store.txn(txn([cmp('mod', 'a', '>', 100)], [op.put(put('x', '1'))], [op.put(put('y', '1')), op.del(del('a'))]));
  expect(r).toMatchObject({ succeeded: false, header: { revision: 5 } });
  expect(s.store.range(get('', { fromKey: true })).kvs.map((kv) => kv.key.toString())).toEqual(['b', 'y']);
});

test('a txn rejected at apply time changes nothing', () => {
  const bad = txn([], [op.put(put('new', '1')), op.put({ ...put('missing', ''), ignoreValue: true })]);
  expect(() => s.store.txn(bad)).toThrow('etcdserver: key not found');
  expect(() => s.store.txn(txn([], [op.put(put('x', '1', { lease: 9 }))]))).toThrow('etcdserver: requested lease not found');
  expect(() => s.store.txn(txn([], [op.put(put('x', '1')), op.get(get('a', { revision: 99 }))]))).toThrow(
    'etcdserver: mvcc: required revision is a future revision',
  );
  expect(s.store.currentRevision()).toBe(4);
  expect(s.store.range(get('new')).count).toBe(0);
});
