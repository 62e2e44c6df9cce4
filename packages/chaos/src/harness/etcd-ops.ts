// The etcd v3 KV requests the workloads build (compares, operations of a Txn) and what they read back
// from a Txn; the calls themselves go through @raftkv/client's etcd face.
import { etcdserverpb } from '@raftkv/proto';

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
  r: Pick<etcdserverpb.TxnResponse, 'responses'>,
  i: number,
): readonly { key: Buffer; value: Buffer; modRevision: number; createRevision: number }[] | undefined {
  const res = r.responses[i]?.response;
  return res?.$case === 'responseRange' ? res.responseRange.kvs : undefined;
}
