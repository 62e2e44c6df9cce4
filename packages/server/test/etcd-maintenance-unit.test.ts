// The pieces behind etcd's Cluster and Maintenance services: CRC-32C, HashKV's revision rules and its
// equality on stores that applied the same entries, member ids, peer URLs, and the replicated member
// attributes and peer updates (applied through the state machine, carried by snapshots' state tables).
import type { Entry } from '@raftkv/consensus';
import { removeDir, tempDir } from '@raftkv/testkit';
import { peerAddressOf } from '../src/api/etcd-cluster-service.js';
import { createLogger } from '../src/observability/logger.js';
import { encodeCommand } from '../src/storage/command.js';
import { Crc32c } from '../src/storage/crc32c.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import { hashDatabase, hashDatabaseOffLoop, hashKv, hashKvOffLoop } from '../src/storage/hashes.js';
import { goDuration, humanizeBytes, tableOf } from '../src/cli/etcd/table.js';
import { allocateMemberId, etcdMemberId, headerIds, isAllocatedId } from '../src/storage/member-id.js';
import { Membership } from '../src/storage/membership.js';
import { CompactedError, FutureRevisionError } from '../src/storage/mvcc/errors.js';
import { KvStateMachine, type ApplyOutcome } from '../src/storage/state-machine.js';

test('CRC-32C of "123456789" is 0xe3069283 (the check value of Castagnoli)', () => {
  expect(new Crc32c().update(Buffer.from('123456789')).sum()).toBe(0xe3069283);
  expect(new Crc32c().update(Buffer.from('1234')).update(Buffer.from('56789')).sum()).toBe(0xe3069283);
});

test('member ids: derived ids are stable; ids allocated for MemberAdd are their etcd id in hex', () => {
  expect(headerIds('raftkv', 'n1')).toEqual(headerIds('raftkv', 'n1'));
  expect(etcdMemberId('raftkv', 'n1')).not.toBe(etcdMemberId('raftkv', 'n2'));
  expect(etcdMemberId('raftkv', 'n1')).toBeLessThan(2 ** 53);
  for (const r of [0, 0.5, 0.999999999]) {
    const id = allocateMemberId(r);
    expect(isAllocatedId(id)).toBe(true);
    expect(etcdMemberId('raftkv', id).toString(16)).toBe(id);
    expect(etcdMemberId('raftkv', id)).toBeLessThan(2 ** 53);
  }
  expect(isAllocatedId('n1')).toBe(false);
  expect(isAllocatedId('abc')).toBe(false);
});

test('peer URLs: http(s) with a host and port, nothing more', () => {
  expect(peerAddressOf('http://127.0.0.1:2380')).toBe('127.0.0.1:2380');
  expect(peerAddressOf('https://node-1.example:7001/')).toBe('node-1.example:7001');
  for (const bad of ['127.0.0.1:2380', 'http://127.0.0.1', 'unix:///x', 'http://a:1/path', 'http://a:1?x=1', 'foo', ''])
    expect(peerAddressOf(bad)).toBeNull();
});

describe('replicated member attributes and HashKV', () => {
  const dirs: string[] = [];
  const dbs: Db[] = [];
  const logger = createLogger({ node: 'n1', term: 0, role: 'follower' }, 'error');
  const node = (): { db: Db; sm: KvStateMachine; members: Membership } => {
    const dir = tempDir();
    dirs.push(dir);
    const db = openDatabase(dir);
    dbs.push(db);
    const members = new Membership(db, 'n1', '127.0.0.1:1', logger);
    members.bootstrap(
      new Map([
        ['n1', '127.0.0.1:1'],
        ['n2', '127.0.0.1:2'],
      ]),
    );
    return { db, sm: new KvStateMachine(db, undefined, members), members };
  };
  let index = 0;
  const entry = (req: Parameters<typeof encodeCommand>[0]): Entry => ({
    index: ++index,
    term: 1,
    type: 'normal',
    data: encodeCommand(req),
  });
  const apply = (n: { db: Db; sm: KvStateMachine }, e: Entry): ApplyOutcome => n.db.transaction(() => n.sm.apply([e]))()[0]!;
  const put = (key: string, value: string): Parameters<typeof encodeCommand>[0] => ({
    $case: 'put',
    put: { key: Buffer.from(key), value: Buffer.from(value), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false },
  });

  beforeEach(() => {
    index = 0;
  });
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    for (const d of dirs.splice(0)) removeDir(d);
  });

  test('attributes and peer updates apply to members only, and are removed with the member', () => {
    const n = node();
    const o = apply(n, entry({ $case: 'memberAttributes', memberAttributes: { id: 'n2', name: 'n2', clientUrls: ['127.0.0.1:2'] } }));
    expect(o).toMatchObject({ ok: true });
    expect(n.members.attributes('n2')).toEqual({ name: 'n2', clientUrls: ['127.0.0.1:2'] });
    const missing = apply(n, entry({ $case: 'memberAttributes', memberAttributes: { id: 'n9', name: 'n9', clientUrls: [] } }));
    expect(missing).toMatchObject({ ok: false, error: { message: 'etcdserver: member not found' } });
    expect(apply(n, entry({ $case: 'memberPeerUpdate', memberPeerUpdate: { id: 'n2', address: '127.0.0.1:22' } }))).toMatchObject({
      ok: true,
    });
    expect(n.members.get('n2')?.address).toBe('127.0.0.1:22');
    expect(n.members.addresses.get('n2')).toBe('127.0.0.1:22');
    // A restart reads both back.
    n.members.reload();
    expect(n.members.attributes('n2')?.name).toBe('n2');
    expect(n.members.get('n2')?.address).toBe('127.0.0.1:22');
    // A conf change that removes n2 removes its attributes too.
    const data = n.members.encodeChange({ type: 'remove', nodeId: 'n2' }, '');
    n.db.transaction(() => n.sm.apply([{ index: ++index, term: 1, type: 'conf-change', data }]))();
    expect(n.members.attributes('n2')).toBeUndefined();
    expect(n.db.prepare('SELECT count(*) FROM member_attributes').pluck().get()).toBe(0);
  });

  test("HashKV: equal on stores that applied the same entries, at every revision; etcd's errors out of range", () => {
    const a = node();
    const b = node();
    for (const [k, v] of [
      ['x', '1'],
      ['y', '2'],
      ['x', '3'],
    ] as const) {
      const e = entry(put(k, v));
      apply(a, e);
      apply(b, e);
    }
    // Node-local attributes differ (a publishes, b not yet): HashKV does not see them, Hash does.
    const published = entry({ $case: 'memberAttributes', memberAttributes: { id: 'n1', name: 'n1', clientUrls: [] } });
    apply(a, published);
    apply(b, { ...published, data: new Uint8Array(0) }); // a no-op at the same index
    expect(hashKv(a.db, 0)).toEqual(hashKv(b.db, 0));
    expect(hashKv(a.db, 0)).toMatchObject({ currentRevision: 4, compactRevision: -1 });
    expect(hashDatabase(a.db)).not.toBe(hashDatabase(b.db));
    const at2 = hashKv(a.db, 2).hash;
    expect(at2).toBe(hashKv(b.db, 2).hash);
    expect(at2).not.toBe(hashKv(a.db, 4).hash);
    expect(() => hashKv(a.db, 5)).toThrow(FutureRevisionError);
    const c = entry({ $case: 'compaction', compaction: { revision: 3, physical: true } });
    apply(a, c);
    apply(b, c);
    expect(() => hashKv(a.db, 3)).toThrow(CompactedError);
    expect(hashKv(a.db, 4)).toEqual(hashKv(b.db, 4));
    expect(hashKv(a.db, 4).compactRevision).toBe(3);
  });

  test("Hash and HashKV on a worker thread answer as on the loop, etcd's errors included", async () => {
    const a = node();
    for (const [k, v] of [
      ['x', '1'],
      ['y', '2'],
    ] as const)
      apply(a, entry(put(k, v)));
    await expect(hashKvOffLoop(a.db.name, 0)).resolves.toEqual(hashKv(a.db, 0));
    await expect(hashKvOffLoop(a.db.name, 2)).resolves.toEqual(hashKv(a.db, 2));
    await expect(hashDatabaseOffLoop(a.db.name)).resolves.toBe(hashDatabase(a.db));
    await expect(hashKvOffLoop(a.db.name, 9)).rejects.toBeInstanceOf(FutureRevisionError);
    apply(a, entry({ $case: 'compaction', compaction: { revision: 2, physical: true } }));
    await expect(hashKvOffLoop(a.db.name, 1)).rejects.toBeInstanceOf(CompactedError);
  });
});

test("etcdctl's table, byte sizes and durations", () => {
  expect(tableOf(['endpoint', 'hash'], [['127.0.0.1:1', '42']])).toBe(
    '+-------------+------+\n|  ENDPOINT   | HASH |\n+-------------+------+\n| 127.0.0.1:1 |   42 |\n+-------------+------+\n',
  );
  expect([humanizeBytes(5), humanizeBytes(49_152), humanizeBytes(1_500_000), humanizeBytes(121_954_304)]).toEqual([
    '5 B',
    '49 kB',
    '1.5 MB',
    '122 MB',
  ]);
  expect([goDuration(999n), goDuration(1500n), goDuration(5_082_413n), goDuration(1_200_000_000n), goDuration(2_000_000_000n)]).toEqual([
    '999ns',
    '1.5µs',
    '5.082413ms',
    '1.2s',
    '2s',
  ]);
});
