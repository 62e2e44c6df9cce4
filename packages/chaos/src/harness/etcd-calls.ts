// The etcd v3 KV calls the workloads make, through @raftkv/proto's generated grpc-js client: the same
// wire API every etcd client speaks, so the harness can drive raftkv (or an etcd) over it.
import { etcdserverpb } from '@raftkv/proto';
import { unary } from './unary.js';

type KV = etcdserverpb.KVClient;

/** etcd's prefix range end: the prefix with its last byte incremented (trailing 0xff bytes dropped). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: every key from the prefix on
}

export function range(
  kv: KV,
  key: Buffer,
  o: { rangeEnd?: Buffer; serializable: boolean },
  deadline: number,
): Promise<etcdserverpb.RangeResponse> {
  const req = etcdserverpb.RangeRequest.fromPartial({ key, rangeEnd: o.rangeEnd ?? Buffer.alloc(0), serializable: o.serializable });
  return unary((md, cb) => kv.range(req, md, { deadline }, cb));
}

export function put(kv: KV, key: Buffer, value: Buffer, deadline: number): Promise<etcdserverpb.PutResponse> {
  const req = etcdserverpb.PutRequest.fromPartial({ key, value, prevKv: true });
  return unary((md, cb) => kv.put(req, md, { deadline }, cb));
}

export function deleteKey(kv: KV, key: Buffer, deadline: number): Promise<etcdserverpb.DeleteRangeResponse> {
  const req = etcdserverpb.DeleteRangeRequest.fromPartial({ key, prevKv: true });
  return unary((md, cb) => kv.deleteRange(req, md, { deadline }, cb));
}

export function txn(kv: KV, req: etcdserverpb.TxnRequest, deadline: number): Promise<etcdserverpb.TxnResponse> {
  return unary((md, cb) => kv.txn(req, md, { deadline }, cb));
}

const { Compare_CompareResult: Result, Compare_CompareTarget: Target } = etcdserverpb;

/** Compare: the key's value equals `value`, or (null) the key does not exist (version 0, as etcd clients do). */
export function valueIs(key: Buffer, value: Buffer | null): etcdserverpb.Compare {
  return value === null
    ? etcdserverpb.Compare.fromPartial({ key, target: Target.VERSION, result: Result.EQUAL, targetUnion: { $case: 'version', version: 0 } })
    : etcdserverpb.Compare.fromPartial({ key, target: Target.VALUE, result: Result.EQUAL, targetUnion: { $case: 'value', value } });
}

export function modRevisionIs(key: Buffer, modRevision: number): etcdserverpb.Compare {
  return etcdserverpb.Compare.fromPartial({
    key,
    target: Target.MOD,
    result: Result.EQUAL,
    targetUnion: { $case: 'modRevision', modRevision },
  });
}

export function createRevisionIs(key: Buffer, createRevision: number): etcdserverpb.Compare {
  return etcdserverpb.Compare.fromPartial({
    key,
    target: Target.CREATE,
    result: Result.EQUAL,
    targetUnion: { $case: 'createRevision', createRevision },
  });
}

export const putOp = (key: Buffer, value: Buffer): etcdserverpb.RequestOp =>
  etcdserverpb.RequestOp.fromPartial({ request: { $case: 'requestPut', requestPut: { key, value } } });

export const rangeOp = (key: Buffer, rangeEnd?: Buffer): etcdserverpb.RequestOp =>
  etcdserverpb.RequestOp.fromPartial({ request: { $case: 'requestRange', requestRange: { key, rangeEnd: rangeEnd ?? Buffer.alloc(0) } } });

/** The kvs of the i-th response of a Txn when it is a Range. */
export function rangeResult(
  r: etcdserverpb.TxnResponse,
  i: number,
): readonly { key: Buffer; value: Buffer; modRevision: number }[] | undefined {
  const res = r.responses[i]?.response;
  return res?.$case === 'responseRange' ? res.responseRange.kvs : undefined;
}
