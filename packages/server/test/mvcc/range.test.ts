// Range options with etcd's semantics: count before filters and limit, sort then limit, more, keys_only,
// count_only, revision filters, "\0" range_end, bytewise key order.
import { etcdserverpb } from '@raftkv/proto';
import { b, get, openStore, put, type OpenStore } from './helpers.js';

const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;
const keys = (r: etcdserverpb.RangeResponse): string[] => r.kvs.map((kv) => kv.key.toString('latin1'));

let s: OpenStore;
beforeEach(() => {
  s = openStore();
  // revisions: k1=2, k2=3, k3=4, k4=5, k2 again=6
  for (const [k, v] of [
    ['k1', 'c'],
    ['k2', 'a'],
    ['k3', 'b'],
    ['k4', 'a'],
    ['k2', 'd'],
  ] as const)
    s.store.put(put(k, v));
});
afterEach(() => s.close());

test('limit cuts in key order and says more; count is the whole range', () => {
  expect(s.store.range(get('k', { prefix: true, limit: 3 }))).toMatchObject({ count: 4, more: true });
  expect(keys(s.store.range(get('k', { prefix: true, limit: 3 })))).toEqual(['k1', 'k2', 'k3']);
  expect(s.store.range(get('k', { prefix: true, limit: 4 }))).toMatchObject({ count: 4, more: false });
  expect(keys(s.store.range(get('k', { prefix: true, sortOrder: SortOrder.DESCEND, limit: 2 })))).toEqual(['k4', 'k3']);
});

test('sort by value, version, create and mod; ties in key order', () => {
  const by = (sortTarget: etcdserverpb.RangeRequest_SortTarget, sortOrder = SortOrder.NONE): string[] =>
    keys(s.store.range(get('k', { prefix: true, sortTarget, sortOrder })));
  expect(by(SortTarget.VALUE)).toEqual(['k4', 'k3', 'k1', 'k2']);
  expect(by(SortTarget.VALUE, SortOrder.DESCEND)).toEqual(['k2', 'k1', 'k3', 'k4']);
  expect(by(SortTarget.VERSION)).toEqual(['k1', 'k3', 'k4', 'k2']);
  expect(by(SortTarget.CREATE, SortOrder.DESCEND)).toEqual(['k4', 'k3', 'k2', 'k1']);
  expect(by(SortTarget.MOD, SortOrder.DESCEND)).toEqual(['k2', 'k4', 'k3', 'k1']);
});

test('revision filters apply before the limit; count ignores them, as etcd', () => {
  const r = s.store.range(get('k', { prefix: true, minModRevision: 3, maxModRevision: 5, limit: 1 }));
  expect(keys(r)).toEqual(['k3']);
  expect(r).toMatchObject({ count: 4, more: true });
  expect(keys(s.store.range(get('k', { prefix: true, minCreateRevision: 3, maxCreateRevision: 4 })))).toEqual(['k2', 'k3']);
  expect(keys(s.store.range(get('k', { prefix: true, maxCreateRevision: 2 })))).toEqual(['k1']);
});

test('keys_only drops values; count_only gives the count alone', () => {
  expect(s.store.range(get('k', { prefix: true, keysOnly: true })).kvs.every((kv) => kv.value.length === 0)).toBe(true);
  expect(s.store.range(get('k', { prefix: true, countOnly: true, limit: 1 }))).toMatchObject({ kvs: [], count: 4, more: false });
});

test('range_end "\\0" reads every key from key; an end at or below key reads nothing; a past revision reads the past', () => {
  s.store.put(put('z', '1'));
  expect(keys(s.store.range(get('k3', { fromKey: true })))).toEqual(['k3', 'k4', 'z']);
  expect(s.store.range(get('k3', { rangeEnd: b('k3') })).count).toBe(0);
  expect(s.store.range(get('k3', { rangeEnd: b('k1') })).count).toBe(0);
  expect(keys(s.store.range(get('k', { prefix: true, revision: 3 })))).toEqual(['k1', 'k2']);
  expect(s.store.range(get('k2', { revision: 3 })).kvs[0]?.value.toString()).toBe('a');
});

test('keys are bytes in bytewise order', () => {
  const raw = [Buffer.from([0x61, 0xff]), Buffer.from([0x61]), Buffer.from([0x61, 0x00]), Buffer.from([0x62]), Buffer.from([0xc3, 0xa9])];
  for (const k of raw) s.store.put({ key: k, value: k, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false });
  const all = s.store.range(get('a', { fromKey: true })).kvs.map((kv) => kv.key.toString('hex'));
  expect(all).toEqual(['61', '6100', '61ff', '62', '6b31', '6b32', '6b33', '6b34', 'c3a9']);
  const prefixA = s.store.range({ ...get('a', { prefix: true }), key: Buffer.from([0x61]) });
  expect(prefixA.kvs.map((kv) => kv.key.toString('hex'))).toEqual(['61', '6100', '61ff']);
});

test('a large range with a limit answers from a bounded walk', () => {
  s.db.transaction(() => {
    for (let i = 0; i < 20_000; i++) s.store.put(put(`big/${String(i).padStart(6, '0')}`, 'v'));
  })();
  const r = s.store.range(get('big/', { prefix: true, limit: 5 }));
  expect(r).toMatchObject({ count: 20_000, more: true });
  expect(keys(r)).toEqual(['big/000000', 'big/000001', 'big/000002', 'big/000003', 'big/000004']);
  const last = s.store.range(get('big/', { prefix: true, limit: 1, sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND }));
  expect(keys(last)).toEqual(['big/019999']);
});
