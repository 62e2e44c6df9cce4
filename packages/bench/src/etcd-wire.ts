// Decoding etcd's answers with @raftkv/proto's generated etcdserverpb, which maps uint64 to JS numbers
// (forceLong=number) and throws on values above 2^53. A real etcd's cluster_id and member_id (in every
// response header) and Status.leader are random 64-bit values, so the bench reads those few fields
// itself, as decimal strings, and hands the generated decoder the message without its header.

/** ResponseHeader with its 64-bit ids as decimal strings (safe for etcd's and raftkv's ids alike). */
export interface WireHeader {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

/** A decoded response and its header (the response's own `header` is left unset). */
export interface WithHeader<T> {
  header: WireHeader | undefined;
  body: T;
}

/** Thrown for bytes that are not a well-formed protobuf message. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

interface Field {
  no: number;
  wireType: number;
  /** Byte offsets of the whole field, tag included. */
  start: number;
  end: number;
  /** Varint fields: the value; length-delimited: the payload's offsets. */
  varint?: bigint;
  payload?: [number, number];
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n, p = pos; p < buf.length && shift < 70n; shift += 7n, p++) {
    const b = buf[p] ?? 0;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, p + 1];
  }
  throw new WireError(`truncated or overlong varint at byte ${pos}`);
}

/** The top-level fields of a message, in order. */
export function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    const no = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    const f: Field = { no, wireType, start, end: afterTag };
    if (wireType === 0) [f.varint, f.end] = readVarint(buf, afterTag);
    else if (wireType === 1) f.end = afterTag + 8;
    else if (wireType === 5) f.end = afterTag + 4;
    else if (wireType === 2) {
      const [len, at] = readVarint(buf, afterTag);
      f.payload = [at, at + Number(len)];
      f.end = at + Number(len);
    } else throw new WireError(`unsupported wire type ${wireType} (field ${no}) at byte ${start}`);
    if (f.end > buf.length) throw new WireError(`field ${no} runs past the end of the message`);
    out.push(f);
    pos = f.end;
  }
  return out;
}

const varintField = (fs: Field[], no: number): bigint => fs.find((f) => f.no === no && f.wireType === 0)?.varint ?? 0n;

/** Decodes a ResponseHeader: cluster_id = 1, member_id = 2, revision = 3, raft_term = 4. */
export function decodeHeader(buf: Uint8Array): WireHeader {
  const fs = fields(buf);
  return {
    clusterId: varintField(fs, 1).toString(),
    memberId: varintField(fs, 2).toString(),
    revision: Number(BigInt.asIntN(64, varintField(fs, 3))),
    raftTerm: Number(varintField(fs, 4)),
  };
}

/** Splits field 1 (the header of every etcdserverpb response) from the rest and decodes both. */
export function splitHeader<T>(bytes: Buffer, decodeRest: (rest: Buffer) => T): WithHeader<T> {
  const fs = fields(bytes);
  const h = fs.find((f) => f.no === 1 && f.payload !== undefined);
  if (h?.payload === undefined) return { header: undefined, body: decodeRest(bytes) };
  const header = decodeHeader(bytes.subarray(...h.payload));
  // Encoders write fields in order, so the header is normally first and the rest one slice.
  const rest =
    h === fs[0] && !fs.slice(1).some((f) => f.no === 1)
      ? bytes.subarray(h.end)
      : Buffer.concat(fs.filter((f) => f.no !== 1).map((f) => bytes.subarray(f.start, f.end)));
  return { header, body: decodeRest(rest) };
}

/** The two fields of a Maintenance StatusResponse that name the leader: header.member_id and leader (4). */
export function decodeStatusLeader(bytes: Buffer): { memberId: string; leader: string } {
  const fs = fields(bytes);
  const h = fs.find((f) => f.no === 1 && f.payload !== undefined);
  return {
    memberId: h?.payload === undefined ? '0' : decodeHeader(bytes.subarray(...h.payload)).memberId,
    leader: varintField(fs, 4).toString(),
  };
}
