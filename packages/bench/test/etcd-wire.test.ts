import { etcdserverpb } from '@raftkv/proto';
import { prefixEnd } from '../src/etcd-client.js';
import { decodeStatusLeader, splitHeader, WireError } from '../src/etcd-wire.js';

function varint(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const field = (no: number, v: bigint): number[] => [...varint(BigInt(no << 3)), ...varint(v)];
const message = (no: number, body: number[]): number[] => [...varint(BigInt((no << 3) | 2)), ...varint(BigInt(body.length)), ...body];

// A real etcd's ids: 64-bit values that the generated decoder (forceLong=number) refuses.
const CLUSTER = 0xcdf818194e3a8c32n;
const MEMBER = 0x8e9e05c52164694dn;
const header = [...field(1, CLUSTER), ...field(2, MEMBER), ...field(3, 42n), ...field(4, 7n)];

describe('splitHeader', () => {
  test('reads 64-bit ids as decimal strings and decodes the rest with the generated decoder', () => {
    const put = Buffer.from(message(1, header));
    expect(() => etcdserverpb.PutResponse.decode(put)).toThrow(/MAX_SAFE_INTEGER/);
    const res = splitHeader(put, etcdserverpb.KVService.put.responseDeserialize);
    expect(res.header).toEqual({ clusterId: CLUSTER.toString(), memberId: MEMBER.toString(), revision: 42, raftTerm: 7 });
    expect(res.body.header).toBeUndefined();
  });

  test('keeps the fields after the header (a txn answer), wherever the header stands', () => {
    const body = etcdserverpb.TxnResponse.encode(
      etcdserverpb.TxnResponse.fromPartial({ succeeded: true, responses: [{ response: { $case: 'responsePut', responsePut: {} } }] }),
    ).finish();
    for (const bytes of [Buffer.from([...message(1, header), ...body]), Buffer.from([...body, ...message(1, header)])]) {
      const res = splitHeader(bytes, etcdserverpb.KVService.txn.responseDeserialize);
      expect(res.header?.revision).toBe(42);
      expect(res.body.succeeded).toBe(true);
      expect(res.body.responses).toHaveLength(1);
    }
  });

  test('an answer without a header decodes whole', () => {
    const bytes = Buffer.from(etcdserverpb.RangeResponse.encode(etcdserverpb.RangeResponse.fromPartial({ count: 3 })).finish());
    const res = splitHeader(bytes, etcdserverpb.KVService.range.responseDeserialize);
    expect(res.header).toBeUndefined();
    expect(res.body.count).toBe(3);
  });

  test('malformed bytes are a WireError, not a wrong answer', () => {
    expect(() => splitHeader(Buffer.from([0x0a, 0x10, 0x08]), (b) => b)).toThrow(WireError);
    expect(() => splitHeader(Buffer.from([0x08, 0xff]), (b) => b)).toThrow(WireError);
    expect(() => splitHeader(Buffer.from([0x0b]), (b) => b)).toThrow(/wire type 3/);
  });
});

test('decodeStatusLeader reads header.member_id and leader (field 4) as 64-bit decimal strings', () => {
  const status = Buffer.from([...message(1, header), ...message(2, [...Buffer.from('3.4.23')]), ...field(3, 20480n), ...field(4, MEMBER)]);
  expect(decodeStatusLeader(status)).toEqual({ memberId: MEMBER.toString(), leader: MEMBER.toString() });
  expect(decodeStatusLeader(Buffer.alloc(0))).toEqual({ memberId: '0', leader: '0' });
});

test('prefixEnd is etcd clientv3 GetPrefixRangeEnd', () => {
  expect(prefixEnd(Buffer.from('bench/range/'))).toEqual(Buffer.from('bench/range0'));
  expect(prefixEnd(Buffer.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from([0x62]));
  expect(prefixEnd(Buffer.from([0xff]))).toEqual(Buffer.from([0]));
});
