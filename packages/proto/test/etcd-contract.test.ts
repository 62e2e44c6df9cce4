// etcd clients speak these bytes: the field numbers of proto/etcd must be etcd 3.4's. The wire bytes are written
// by hand (tag = field number << 3 | wire type) from go.etcd.io/etcd/etcdserver/etcdserverpb/rpc.proto 3.4.23.
import { etcdserverpb, mvccpb } from '../src/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

test('RangeRequest keeps etcd field numbers', () => {
  const { RangeRequest, RangeRequest_SortOrder: Order, RangeRequest_SortTarget: Target } = etcdserverpb;
  const msg = RangeRequest.fromPartial({
    key: buf('a'),
    rangeEnd: buf('\0'),
    limit: 2,
    revision: 3,
    sortOrder: Order.DESCEND,
    sortTarget: Target.MOD,
    keysOnly: true,
    maxCreateRevision: 9,
  });
  expect(hex(RangeRequest.encode(msg).finish())).toBe('0a0161' + '120100' + '1802' + '2003' + '2802' + '3003' + '4001' + '6809');
});

test('Compare keeps etcd field numbers, range_end is field 64', () => {
  const { Compare, Compare_CompareResult: Result, Compare_CompareTarget: Target } = etcdserverpb;
  const msg = Compare.fromPartial({
    result: Result.NOT_EQUAL,
    target: Target.MOD,
    key: buf('a'),
    targetUnion: { $case: 'modRevision', modRevision: 5 },
    rangeEnd: buf('b'),
  });
  expect(hex(Compare.encode(msg).finish())).toBe('0803' + '1002' + '1a0161' + '3005' + '8204' + '0162');
  expect([Result.EQUAL, Result.GREATER, Result.LESS, Result.NOT_EQUAL]).toEqual([0, 1, 2, 3]);
  expect([Target.VERSION, Target.CREATE, Target.MOD, Target.VALUE, Target.LEASE]).toEqual([0, 1, 2, 3, 4]);
});

test('a Txn with a put and KeyValue keep etcd field numbers', () => {
  const { TxnRequest } = etcdserverpb;
  const put = { key: buf('k'), value: buf('v'), lease: 0, prevKv: true, ignoreValue: false, ignoreLease: false };
  const msg = TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', requestPut: put } }] });
  expect(hex(TxnRequest.encode(msg).finish())).toBe('120a' + '1208' + '0a016b' + '120176' + '2001');
  const kv = { key: buf('k'), createRevision: 2, modRevision: 3, version: 2, value: buf('v'), lease: 7 };
  expect(hex(mvccpb.KeyValue.encode(kv).finish())).toBe('0a016b' + '1002' + '1803' + '2002' + '2a0176' + '3007');
});

test('etcd service paths', () => {
  expect(etcdserverpb.KVService.range.path).toBe('/etcdserverpb.KV/Range');
  expect(etcdserverpb.KVService.compact.path).toBe('/etcdserverpb.KV/Compact');
  expect(etcdserverpb.WatchService.watch.path).toBe('/etcdserverpb.Watch/Watch');
  expect(etcdserverpb.MaintenanceService.status.path).toBe('/etcdserverpb.Maintenance/Status');
});
