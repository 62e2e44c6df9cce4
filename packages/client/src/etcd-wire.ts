// etcd's ResponseHeader carries uint64 ids (cluster_id, member_id) that real etcd fills with values
// above 2^53, which the generated decoders (numbers) refuse. Every etcd response has its header at
// field 1: it is cut out of the bytes and decoded here as bigints, the rest by the generated decoder.

/** etcd's ResponseHeader with exact ids. */
export interface Header {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

export class WireError extends Error {
  override readonly name = 'WireError';
}

function varint(b: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  for (let shift = 0n, i = at; i < b.length && shift < 70n; i++, shift += 7n) {
    const byte = b[i]!;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, i + 1];
  }
  throw new WireError('malformed varint in an etcd response');
}

/** Int64 fields arrive as two's complement in 64 bits. */
const int64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** Splits a message into its header (field 1, decoded) and the bytes of every other field. */
export function splitHeader(b: Uint8Array): { header: Header | undefined; rest: Buffer } {
  const keep: Uint8Array[] = [];
  let header: Header | undefined;
  for (let at = 0; at < b.length; ) {
    const start = at;
    const [tag, afterTag] = varint(b, at);
    const field = Number(tag >> 3n);
    let end: number;
    switch (Number(tag & 7n)) {
      case 0:
        end = varint(b, afterTag)[1];
        break;
      case 1:
        end = afterTag + 8;
        break;
      case 2: {
        const [len, afterLen] = varint(b, afterTag);
        end = afterLen + Number(len);
        if (field === 1) header = decodeHeader(b.subarray(afterLen, end));
        break;
      }
      case 5:
        end = afterTag + 4;
        break;
      default:
        throw new WireError(`unsupported wire type in an etcd response (field ${field})`);
    }
    if (end > b.length) throw new WireError('truncated etcd response');
    if (field !== 1) keep.push(b.subarray(start, end));
    at = end;
  }
  return { header, rest: Buffer.concat(keep) };
}

function decodeHeader(b: Uint8Array): Header {
  const h: Header = { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };
  for (let at = 0; at < b.length; ) {
    const [tag, afterTag] = varint(b, at);
    if ((tag & 7n) !== 0n) throw new WireError('unexpected wire type in an etcd response header');
    const [v, next] = varint(b, afterTag);
    const field = Number(tag >> 3n);
    if (field === 1) h.clusterId = v;
    else if (field === 2) h.memberId = v;
    else if (field === 3) h.revision = int64(v);
    else if (field === 4) h.raftTerm = v;
    at = next;
  }
  return h;
}
