import { authpb } from '@raftkv/proto';
import { RangePermissions } from '../../src/storage/auth/permissions.js';

const { READ, WRITE, READWRITE } = authpb.Permission_Type;
const b = (s: string): Buffer => Buffer.from(s);
const perm = (permType: authpb.Permission_Type, key: string, rangeEnd = ''): authpb.Permission => ({
  permType,
  key: b(key),
  rangeEnd: b(rangeEnd),
});
const FROM = '\0';

describe('RangePermissions (etcd range_perm_cache semantics)', () => {
  it('a single-key permission allows that key only, for its type only', () => {
    const p = new RangePermissions([perm(READ, 'a')]);
    expect(p.canRead(b('a'))).toBe(true);
    expect(p.canRead(b('ab'))).toBe(false);
    expect(p.canWrite(b('a'))).toBe(false);
    // A range holding just that key is covered ([a, a\0)); a wider one is not.
    expect(p.canRead(b('a'), b('a\0'))).toBe(true);
    expect(p.canRead(b('a'), b('b'))).toBe(false);
  });

  it('a prefix permission covers its keys and sub-ranges, not the prefix range of a shorter prefix', () => {
    const p = new RangePermissions([perm(READWRITE, '/a/', '/a0')]);
    expect(p.canWrite(b('/a/x'))).toBe(true);
    expect(p.canRead(b('/a/'), b('/a0'))).toBe(true);
    expect(p.canRead(b('/a/b'), b('/a/c'))).toBe(true);
    expect(p.canRead(b('/a'), b('/b'))).toBe(false);
    expect(p.canRead(b('/a0'))).toBe(false); // the end is exclusive
    expect(p.canRead(b('/a/'), b(FROM))).toBe(false); // from-key reaches past the prefix
  });

  it('a from-key permission covers every key at or after its key, open-ended requests included', () => {
    const p = new RangePermissions([perm(WRITE, 'm', FROM)]);
    expect(p.canWrite(b('m'))).toBe(true);
    expect(p.canWrite(b('zzzz'))).toBe(true);
    expect(p.canWrite(b('n'), b(FROM))).toBe(true);
    expect(p.canWrite(b('l'))).toBe(false);
    expect(p.canWrite(b('l'), b(FROM))).toBe(false);
    expect(p.canRead(b('m'))).toBe(false);
  });

  it('unions adjacent and overlapping permissions of several roles', () => {
    const p = new RangePermissions([perm(READ, 'a', 'c'), perm(READWRITE, 'c', 'e'), perm(READ, 'd', 'g')]);
    expect(p.canRead(b('a'), b('g'))).toBe(true);
    expect(p.canRead(b('a'), b('h'))).toBe(false);
    expect(p.canWrite(b('c'), b('e'))).toBe(true);
    expect(p.canWrite(b('b'), b('e'))).toBe(false);
    // A gap between two permissions is not covered.
    const gap = new RangePermissions([perm(READ, 'a', 'b'), perm(READ, 'c', 'd')]);
    expect(gap.canRead(b('a'), b('d'))).toBe(false);
    expect(gap.canRead(b('b'))).toBe(false);
  });

  it('no permissions: nothing is allowed', () => {
    const p = new RangePermissions([]);
    expect(p.canRead(b('a'))).toBe(false);
    expect(p.canWrite(b('\0'), b(FROM))).toBe(false);
  });
});
