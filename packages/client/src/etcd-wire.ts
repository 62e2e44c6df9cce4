// etcd's ResponseHeader carries uint64 ids (cluster_id, member_id) that real etcd fills with values
// above 2^53, which the generated decoders (numbers) refuse. Every etcd response has its header at
// field 1: it is cut out of the bytes and decoded here as bigints, the rest by the generated decoder.
// This is the one reader of those bytes (the bench uses it too, for etcd's Maintenance.Status).

/** etcd's ResponseHeader with exact ids. */
export interface Header {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}

/** Thrown for bytes that are not a well-formed protobuf message. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

interface Field {
  no: number;
  /** Byte offsets of the whole field, tag included. */
  start: number;
  end: number;
  /** Varint fields: the value. */
  varint?: bigint;
  /** Length-delimited fields: the payload's offsets. */
  payload?: [number, number];
}

function readVarint(b: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  for (let shift = 0n, i = at; i < b.length && shift < 70n; i++, shift += 7n) {
    const byte = b[i]!;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, i + 1];
  }
  throw new WireError(`malformed varint in an etcd response at byte ${at}`);
}

/** The top-level fields of a message, in order. */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  for (let at = 0; at < b.length; ) {
    const [tag, afterTag] = readVarint(b, at);
    const f: Field = { no: Number(tag >> 3n), start: at, end: afterTag };
    switch (Number(tag & 7n)) {
      case 0:
        [f.varint, f.end] = readVarint(b, afterTag);
        break;
      case 1:
        f.end = afterTag + 8;
        break;
      case 2: {
        const [len, afterLen] = readVarint(b, afterTag);
        f.end = afterLen + Number(len);
        f.payload = [afterLen, f.end];
        break;
      }
      case 5:
        f.end = afterTag + 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${Number(tag & 7n)} in an etcd response (field ${f.no})`);
    }
    if (f.end > b.length) throw new WireError(`truncated etcd response (field ${f.no})`);
    out.push(f);
    at = f.end;
  }
  return out;
}

/** A varint field's value; the last one wins when it repeats (protobuf's rule for scalars). */
const varintOf = (fs: Field[], no: number): bigint => fs.filter((f) => f.no === no && f.varint !== undefined).at(-1)?.varint ?? 0n;

/** A top-level uint64 field of a message (0 when absent), e.g. Maintenance StatusResponse.leader (4). */
export function uint64Field(b: Uint8Array, no: number): bigint {
  return varintOf(fields(b), no);
}

/** Splits a response into its header (field 1, decoded) and the bytes of every other field. */
export function splitHeader(b: Uint8Array): { header: Header | undefined; rest: Buffer } {
  const fs = fields(b);
  const h = fs.find((f) => f.no === 1 && f.payload !== undefined);
  const header = h?.payload === undefined ? undefined : decodeHeader(b.subarray(...h.payload));
  const keep = fs.filter((f) => f.no !== 1);
  // Encoders write fields in order: the header first, the rest one slice that needs no copy.
  const first = keep[0];
  const last = keep[keep.length - 1];
  if (first !== undefined && last !== undefined && last.end - first.start === keep.reduce((n, f) => n + f.end - f.start, 0)) {
    return { header, rest: Buffer.from(b.buffer, b.byteOffset + first.start, last.end - first.start) };
  }
  return { header, rest: Buffer.concat(keep.map((f) => b.subarray(f.start, f.end))) };
}

/** A ResponseHeader: cluster_id = 1, member_id = 2, revision = 3 (int64), raft_term = 4. */
function decodeHeader(b: Uint8Array): Header {
  const fs = fields(b);
  return { clusterId: varintOf(fs, 1), memberId: varintOf(fs, 2), revision: BigInt.asIntN(64, varintOf(fs, 3)), raftTerm: varintOf(fs, 4) };
}
