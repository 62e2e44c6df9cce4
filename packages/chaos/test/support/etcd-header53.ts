// A real etcd's response headers carry 64-bit cluster_id and member_id, which @raftkv/proto's generated
// decoder (ts-proto with forceLong=number) refuses ("Value is larger than Number.MAX_SAFE_INTEGER").
// raftkv derives 53-bit ids, so only tests that talk to a real etcd need this: a KV client whose
// decoder first keeps the low 53 bits of those two ids in the top-level header (field 1).
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';

function readVarint(b: Buffer, pos: number): [bigint, number] {
  let v = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = b[pos++]!;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, pos];
  }
}

function varint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Buffer.from(out);
}

const MASK53 = (1n << 53n) - 1n;

/** The header's varint fields re-encoded, cluster_id (1) and member_id (2) cut to 53 bits. */
function fixHeaderBody(h: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let pos = 0; pos < h.length; ) {
    const [tag, p] = readVarint(h, pos);
    const [v, next] = readVarint(h, p); // every ResponseHeader field is a varint
    const field = tag >> 3n;
    out.push(varint(tag), varint(field === 1n || field === 2n ? v & MASK53 : v));
    pos = next;
  }
  return Buffer.concat(out);
}

export function fixHeader(b: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let pos = 0; pos < b.length; ) {
    const start = pos;
    const [tag, p] = readVarint(b, pos);
    const wire = Number(tag & 7n);
    if (wire === 0) pos = readVarint(b, p)[1];
    else if (wire === 1) pos = p + 8;
    else if (wire === 5) pos = p + 4;
    else if (wire === 2) {
      const [len, body] = readVarint(b, p);
      pos = body + Number(len);
      if (tag >> 3n === 1n) {
        const h = fixHeaderBody(b.subarray(body, pos));
        out.push(varint(tag), varint(BigInt(h.length)), h);
        continue;
      }
    } else throw new Error(`unexpected wire type ${wire}`);
    out.push(b.subarray(start, pos));
  }
  return Buffer.concat(out);
}

/** etcdserverpb.KVClient for a real etcd. */
export function etcdKvClient(address: string): etcdserverpb.KVClient {
  const service = Object.fromEntries(
    Object.entries(etcdserverpb.KVService).map(([name, m]) => [
      name,
      { ...m, responseDeserialize: (b: Buffer) => (m.responseDeserialize as (x: Buffer) => unknown)(fixHeader(b)) },
    ]),
  ) as unknown as typeof etcdserverpb.KVService;
  const Ctor = makeGenericClientConstructor(service, 'etcdserverpb.KV') as unknown as new (
    a: string,
    c: ReturnType<typeof credentials.createInsecure>,
  ) => etcdserverpb.KVClient;
  return new Ctor(address, credentials.createInsecure());
}
