import { etcdserverpb } from '@raftkv/proto';
import { splitHeader, uint64Field, WireError } from '../src/etcd-wire.js';
import { varint } from './fake-server.js';

const field = (no: number, v: bigint): number[] => [...varint(BigInt(no << 3)), ...varint(v)];
const message = (no: number, body: number[]): number[] => [...varint(BigInt((no << 3) | 2)), ...varint(BigInt(body.length)), ...body];

// A real etcd's ids: 64-bit values that the generated decoder (forceLong=number) refuses.
const CLUSTER = 0xcdf818194e3a8c32n;
const MEMBER = 0x8e9e05c52164694dn;
const header = [...field(1, CLUSTER), ...field(2, MEMBER), ...field(3, 42n), ...field(4, 7n)];

describe('splitHeader', () => {
  test('reads 64-bit ids exactly and leaves the rest to the generated decoder', () => {
    const put = Buffer.from(message(1, header));
    expect(() => etcdserverpb.PutResponse.decode(put)).toThrow(/MAX_SAFE_INTEGER/);
    const { header: h, rest } = splitHeader(put);
    expect(h).toEqual({ clusterId: CLUSTER, memberId: MEMBER, revision: 42n, raftTerm: 7n });
    expect(etcdserverpb.PutResponse.decode(rest).header).toBeUndefined();
  });

  test('a negative revision (int64) reads as negative; unknown header fields of any wire type are skipped', () => {
    const odd = [...field(3, (1n << 64n) - 5n), ...message(9, [1, 2]), ...field(2, 1n)];
    expect(splitHeader(Buffer.from(message(1, odd))).header).toEqual({ clusterId: 0n, memberId: 1n, revision: -5n, raftTerm: 0n });
  });

  test('keeps the fields after the header (a txn answer), wherever the header stands', () => {
    const body = etcdserverpb.TxnResponse.encode(
      etcdserverpb.TxnResponse.fromPartial({ succeeded: true, responses: [{ response: { $case: 'responsePut', responsePut: {} } }] }),
    ).finish();
    const split = [...body.subarray(0, 2)];
    const variants = [
      [...message(1, header), ...body],
      [...body, ...message(1, header)],
      [...split, ...message(1, header), ...body.subarray(2)], // header between the two fields
    ];
    for (const bytes of variants) {
      const { header: h, rest } = splitHeader(Buffer.from(bytes));
      expect(h?.revision).toBe(42n);
      const res = etcdserverpb.TxnResponse.decode(rest);
      expect(res.succeeded).toBe(true);
      expect(res.responses).toHaveLength(1);
    }
  });

  test('an answer without a header decodes whole', () => {
    const bytes = Buffer.from(etcdserverpb.RangeResponse.encode(etcdserverpb.RangeResponse.fromPartial({ count: 3 })).finish());
    const { header: h, rest } = splitHeader(bytes);
    expect(h).toBeUndefined();
    expect(etcdserverpb.RangeResponse.decode(rest).count).toBe(3);
    expect(splitHeader(Buffer.alloc(0))).toEqual({ header: undefined, rest: Buffer.alloc(0) });
  });

  test('malformed bytes are a WireError, not a wrong answer', () => {
    expect(() => splitHeader(Buffer.from([0x0a, 0x10, 0x08]))).toThrow(WireError);
    expect(() => splitHeader(Buffer.from([0x08, 0xff]))).toThrow(WireError);
    expect(() => splitHeader(Buffer.from([0x0b]))).toThrow(/wire type 3/);
    expect(() => splitHeader(Buffer.from(message(1, [0x08, 0xff])))).toThrow(WireError); // inside the header
  });
});

test('uint64Field reads a top-level uint64 exactly: a Maintenance StatusResponse leader (field 4)', () => {
  const status = Buffer.from([...message(1, header), ...message(2, [...Buffer.from('3.4.23')]), ...field(3, 20480n), ...field(4, MEMBER)]);
  expect(uint64Field(splitHeader(status).rest, 4)).toBe(MEMBER);
  expect(uint64Field(status, 3)).toBe(20480n);
  expect(uint64Field(Buffer.alloc(0), 4)).toBe(0n);
});
