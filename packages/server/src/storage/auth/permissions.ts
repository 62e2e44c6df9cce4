// etcd's key-range permissions (auth/range_perm_cache.go): a user's READ and WRITE ranges are the
// union of its roles' permissions; a request on [key, range_end) is allowed when that union covers it
// entirely, on a single key when some permission contains the key. Pure: no I/O.
import { authpb } from '@raftkv/proto';

/** [start, end); end null: unbounded (etcd's "\0" range_end, every key >= start). */
interface Interval {
  readonly start: Buffer;
  readonly end: Buffer | null;
}

const cmpEnd = (a: Buffer | null, b: Buffer | null): number => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : Buffer.compare(a, b));

/** The interval a permission or request names: "" range_end is the key alone, "\0" every key from it. */
export function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): Interval {
  const start = Buffer.from(key);
  if (rangeEnd.length === 0) return { start, end: Buffer.concat([start, Buffer.from([0])]) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null };
  return { start, end: Buffer.from(rangeEnd) };
}

/** Sorted, disjoint, non-adjacent intervals covering the same keys as `ivs`. */
function merge(ivs: Interval[]): Interval[] {
  const sorted = ivs.filter((i) => i.end === null || Buffer.compare(i.start, i.end) < 0).sort((a, b) => Buffer.compare(a.start, b.start));
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (last.end === null || Buffer.compare(iv.start, last.end) <= 0)) {
      if (cmpEnd(iv.end, last.end) > 0) out[out.length - 1] = { start: last.start, end: iv.end };
    } else {
      out.push(iv);
    }
  }
  return out;
}

function covers(union: readonly Interval[], want: Interval): boolean {
  return union.some((u) => Buffer.compare(u.start, want.start) <= 0 && cmpEnd(want.end, u.end) <= 0);
}

/** One user's merged permissions. */
export class RangePermissions {
  private readonly read: Interval[];
  private readonly write: Interval[];

  constructor(perms: readonly authpb.Permission[]) {
    const read: Interval[] = [];
    const write: Interval[] = [];
    for (const p of perms) {
      const iv = intervalOf(p.key, p.rangeEnd);
      if (p.permType === authpb.Permission_Type.READ || p.permType === authpb.Permission_Type.READWRITE) read.push(iv);
      if (p.permType === authpb.Permission_Type.WRITE || p.permType === authpb.Permission_Type.READWRITE) write.push(iv);
    }
    this.read = merge(read);
    this.write = merge(write);
  }

  canRead(key: Uint8Array, rangeEnd: Uint8Array = Buffer.alloc(0)): boolean {
    return covers(this.read, intervalOf(key, rangeEnd));
  }

  canWrite(key: Uint8Array, rangeEnd: Uint8Array = Buffer.alloc(0)): boolean {
    return covers(this.write, intervalOf(key, rangeEnd));
  }
}
