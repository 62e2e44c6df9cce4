import { removeDir, tempDir } from '@raftkv/testkit';
import type { Entry } from '@raftkv/consensus';
import type { Command } from '@raftkv/proto';
import { encodeCommand } from '../src/storage/command.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import type { LeaseListener, LeaseRow } from '../src/storage/lease-store.js';
import { KvStateMachine, type ApplyOutcome } from '../src/storage/state-machine.js';
import { b, get } from './mvcc/helpers.js';

type Req = NonNullable<Command['request']>;
const grant = (ID: number, TTL: number): Req => ({ $case: 'leaseGrant', leaseGrant: { ID, TTL } });
const revoke = (ID: number): Req => ({ $case: 'leaseRevoke', leaseRevoke: { ID } });
const put = (key: string, lease: number, extra: { ignoreLease?: boolean } = {}): Req => ({
  $case: 'put',
  put: { key: b(key), value: b('v'), lease, prevKv: false, ignoreValue: false, ignoreLease: extra.ignoreLease ?? false },
});
const del = (key: string): Req => ({ $case: 'deleteRange', deleteRange: { key: b(key), rangeEnd: Buffer.alloc(0), prevKv: false } });

describe('leases in the state machine', () => {
  let dir: string;
  let db: Db;
  let sm: KvStateMachine;
  let index: number;
  let events: string[];
  const listener: LeaseListener = {
    granted: (id, ttl) => void events.push(`grant ${id} ${ttl}`),
    revoked: (id) => void events.push(`revoke ${id}`),
    reset: (rows: readonly LeaseRow[]) => void events.push(`reset ${rows.map((r) => r.id).join(',')}`),
  };
  const apply = (r: Req): ApplyOutcome => {
    const e: Entry = { index: ++index, term: 1, type: 'normal', data: encodeCommand(r) };
    return db.transaction(() => sm.apply([e]))()[0]!;
  };
  const ok = (r: Req) => {
    const o = apply(r);
    if (o === null || o.ok !== true) throw new Error(`expected success, got ${JSON.stringify(o)}`);
    return o.response;
  };
  const refused = (r: Req): string => {
    const o = apply(r);
    if (o === null || o.ok !== false) throw new Error(`expected a refusal, got ${JSON.stringify(o)}`);
    return o.error.message;
  };
  const keys = (): string[] => sm.store.range(get('', { fromKey: true })).kvs.map((kv) => kv.key.toString());

  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
    events = [];
    sm = new KvStateMachine(db, undefined, null, listener);
    index = 0;
  });
  afterEach(() => {
    if (db.open) db.close();
    removeDir(dir);
  });

  test("grant: etcd's refusals (id taken, TTL too large); the listener hears each applied grant", () => {
    expect(ok(grant(5, 10))).toMatchObject({ $case: 'leaseGrant', leaseGrant: { ID: 5, TTL: 10 } });
    expect(refused(grant(5, 20))).toBe('etcdserver: lease already exists');
    expect(refused(grant(6, 9_000_000_001))).toBe('etcdserver: too large lease TTL');
    expect(sm.leases.list()).toEqual([{ id: 5, ttl: 10 }]);
    expect(events).toEqual(['reset ', 'grant 5 10']);
  });

  test('a put with a missing lease is refused and writes nothing', () => {
    const rev = sm.store.currentRevision();
    expect(refused(put('a', 99))).toBe('etcdserver: requested lease not found');
    expect(sm.store.currentRevision()).toBe(rev);
  });

  test("revoke deletes exactly the keys still attached, at one revision (etcd's attach/detach rules)", () => {
    ok(grant(1, 10));
    ok(grant(2, 10));
    ok(put('a', 1));
    ok(put('b', 1));
    ok(put('c', 1));
    ok(put('d', 1));
    ok(put('b', 2)); // moved to lease 2
    ok(put('c', 0)); // no lease any more
    ok(del('d')); // gone
    ok(put('d', 0));
    ok(put('a', 0, { ignoreLease: true })); // keeps lease 1
    expect(sm.store.keysOfLease(1).map(String)).toEqual(['a']);
    const before = sm.store.currentRevision();
    const r = ok(revoke(1));
    expect(r).toMatchObject({ $case: 'leaseRevoke', leaseRevoke: { header: { revision: before + 1 } } });
    expect(keys()).toEqual(['b', 'c', 'd']);
    expect(refused(revoke(1))).toBe('etcdserver: requested lease not found');
    // Two keys at one revision: one revision for both deletes.
    ok(put('x', 2));
    const at = sm.store.currentRevision();
    ok(revoke(2));
    expect(sm.store.currentRevision()).toBe(at + 1);
    expect(keys()).toEqual(['c', 'd']);
    // A lease without keys is revoked without a new revision (as etcd: nothing deleted).
    ok(grant(3, 5));
    ok(revoke(3));
    expect(sm.store.currentRevision()).toBe(at + 1);
    expect(events.filter((e) => e.startsWith('revoke'))).toEqual(['revoke 1', 'revoke 2', 'revoke 3']);
  });

  test('the digest covers the leases; a reopened state machine finds them', () => {
    const d0 = sm.digest().digest;
    ok(grant(1, 10));
    const d1 = sm.digest().digest;
    expect(d1).not.toBe(d0);
    ok(revoke(1));
    expect(sm.digest().digest).toBe(d0);
    ok(grant(4, 30));
    events = [];
    const again = new KvStateMachine(db, undefined, null, listener);
    expect(again.leases.exists(4)).toBe(true);
    expect(events).toEqual(['reset 4']);
  });
});
