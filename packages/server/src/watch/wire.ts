// WatchResponses of events, written as protobuf bytes from parts encoded once: each event (with and
// without prev_kv) once per row however many watchers get it, the header once per revision and term.
// A revision seen by a thousand watchers then costs a thousand small concatenations, not a thousand
// encodings of its events. The bytes are what etcdserverpb.WatchResponse.encode would write.
import { etcdserverpb, mvccpb } from '@raftkv/proto';
import type { KvRow } from '../storage/mvcc/kv-row.js';
import { isCreate, toEvent } from './events.js';

/** Field tags of etcdserverpb.WatchResponse: header (1, bytes), watch_id (2, varint), events (11, bytes). */
const TAG_HEADER = 0x0a;
const TAG_WATCH_ID = 0x10;
const TAG_EVENT = 0x5a;

export interface WireDeps {
  /** etcd's response header: this node's ids and term, with `revision`. */
  readonly header: (revision: number) => etcdserverpb.ResponseHeader;
  /** The live row of `key` at `rev` (prev_kv). */
  readonly liveAt: (key: Buffer, rev: number) => KvRow | undefined;
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** protobuf's varint of a non-negative integer below 2^53. */
function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

export class WatchWire {
  // Keyed by the row object: the hub hands every watcher of a revision the same rows, and rows no
  // longer referenced (delivered) take their encodings with them.
  private readonly plain = new WeakMap<KvRow, Buffer>();
  private readonly withPrev = new WeakMap<KvRow, Buffer>();
  private headerRevision = -1;
  private headerTerm = -1;
  private headerBytes: Buffer = Buffer.alloc(0);

  constructor(private readonly d: WireDeps) {}

  /** The event of `row`, encoded (with its previous pair when `prevKv` and the row has one). */
  event(row: KvRow, prevKv: boolean): Buffer {
    const cache = prevKv && !isCreate(row) ? this.withPrev : this.plain;
    let bytes = cache.get(row);
    if (bytes === undefined) {
      bytes = toBuffer(mvccpb.Event.encode(this.toEvent(row, cache === this.withPrev)).finish());
      cache.set(row, bytes);
    }
    return bytes;
  }

  /** The WatchResponse of `rows` for watcher `watchId` with the header of `revision`. */
  response(watchId: number, revision: number, rows: readonly KvRow[], prevKv: boolean): Buffer {
    const header = this.header(revision);
    let size = 1 + varintLength(header.length) + header.length;
    if (watchId !== 0) size += 1 + varintLength(watchId);
    const events = rows.map((r) => this.event(r, prevKv));
    for (const e of events) size += 1 + varintLength(e.length) + e.length;
    const out = Buffer.allocUnsafe(size);
    out[0] = TAG_HEADER;
    let at = writeVarint(out, 1, header.length);
    at += header.copy(out, at);
    if (watchId !== 0) {
      out[at++] = TAG_WATCH_ID;
      at = writeVarint(out, at, watchId);
    }
    for (const e of events) {
      out[at++] = TAG_EVENT;
      at = writeVarint(out, at, e.length);
      at += e.copy(out, at);
    }
    return out;
  }

  private header(revision: number): Buffer {
    const h = this.d.header(revision);
    if (revision !== this.headerRevision || h.raftTerm !== this.headerTerm) {
      this.headerBytes = toBuffer(etcdserverpb.ResponseHeader.encode(h).finish());
      this.headerRevision = revision;
      this.headerTerm = h.raftTerm;
    }
    return this.headerBytes;
  }

  /** The event of `row`, with the pair it replaced when `prevKv`. */
  toEvent(row: KvRow, prevKv: boolean): mvccpb.Event {
    const e = toEvent(row);
    if (!prevKv) return e;
    const prev = this.d.liveAt(row.key, row.main - 1);
    return prev === undefined ? e : { ...e, prevKv: toEvent(prev).kv };
  }
}

/** etcdserverpb.WatchService whose responses may also be given as bytes already encoded (WatchWire's). */
export const WATCH_SERVICE = {
  watch: {
    ...etcdserverpb.WatchService.watch,
    responseSerialize: (value: etcdserverpb.WatchResponse | Buffer): Buffer =>
      Buffer.isBuffer(value) ? value : toBuffer(etcdserverpb.WatchResponse.encode(value).finish()),
  },
} as const;
