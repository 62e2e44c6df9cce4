import { Lessor, NotPrimaryError } from '../src/node/lessor.js';
import { LeaseNotFoundError } from '../src/storage/mvcc/errors.js';

describe('Lessor (injected clock)', () => {
  let now: number;
  let lessor: Lessor;
  beforeEach(() => {
    now = 1_000;
    lessor = new Lessor({ now: () => now, extendMs: 500, retryMs: 3000 });
  });

  test('a follower never expires a lease and cannot renew or answer a TTL', () => {
    lessor.granted(1, 5);
    now += 1_000_000;
    expect(lessor.expired(10)).toEqual([]);
    expect(() => lessor.renew(1)).toThrow(NotPrimaryError);
    expect(() => lessor.timeToLive(1)).toThrow(NotPrimaryError);
  });

  test('on the leader a lease expires after its TTL; a keep-alive restarts the full TTL', () => {
    lessor.promote();
    lessor.granted(7, 5); // granted while leader: 5 s from now, no extension
    expect(lessor.timeToLive(7)).toEqual({ ttl: 5, grantedTtl: 5 });
    now += 4_000;
    expect(lessor.expired(10)).toEqual([]);
    expect(lessor.timeToLive(7)!.ttl).toBe(1);
    expect(lessor.renew(7)).toBe(5);
    now += 4_999;
    expect(lessor.expired(10)).toEqual([]);
    now += 1;
    expect(lessor.expired(10)).toEqual([7]);
    // An expired lease is not renewed: its revoke is on its way.
    expect(() => lessor.renew(7)).toThrow(LeaseNotFoundError);
    expect(() => lessor.renew(8)).toThrow(LeaseNotFoundError);
    expect(lessor.timeToLive(8)).toBeUndefined();
  });

  test('promotion renews every lease for its full TTL plus the election extension (no expiry from the election)', () => {
    lessor.promote();
    lessor.granted(1, 10);
    now += 9_000; // 1 s left
    lessor.demote();
    now += 5_000; // the old leader's deadline passed during the election
    lessor.promote();
    expect(lessor.expired(10)).toEqual([]);
    expect(lessor.timeToLive(1)).toEqual({ ttl: 10, grantedTtl: 10 });
    now += 10_499;
    expect(lessor.expired(10)).toEqual([]);
    now += 1;
    expect(lessor.expired(10)).toEqual([1]);
  });

  test('expired leases are handed out at most `limit` per call and not again before the retry interval', () => {
    lessor.promote();
    for (let id = 1; id <= 5; id++) lessor.granted(id, 1);
    now += 1_000;
    const first = lessor.expired(3);
    expect(first).toHaveLength(3);
    const rest = lessor.expired(3);
    expect(rest).toHaveLength(2);
    expect(new Set([...first, ...rest]).size).toBe(5);
    expect(lessor.expired(10)).toEqual([]); // all being revoked
    lessor.revoked(first[0]!); // that revoke was applied
    now += 3_000; // the others' revokes failed (e.g. leadership moved): proposed again
    expect(lessor.expired(10).sort()).toEqual([...first.slice(1), ...rest].sort());
  });

  test('a revoke applied removes the lease; a snapshot resets the set', () => {
    lessor.promote();
    lessor.granted(1, 5);
    lessor.granted(2, 5);
    lessor.revoked(1);
    expect(lessor.ids()).toEqual([2]);
    lessor.reset([
      { id: 3, ttl: 2 },
      { id: 4, ttl: 60 },
    ]);
    expect(lessor.ids()).toEqual([3, 4]); // soonest expiry first
    expect(lessor.timeToLive(3)).toEqual({ ttl: 2, grantedTtl: 2 }); // 2.5 s left (with the extension), truncated
  });
});
