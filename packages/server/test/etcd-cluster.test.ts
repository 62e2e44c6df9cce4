// etcd's KV API on a real 3-node cluster: writes through a follower, serializable and linearizable
// reads, Txn, compaction errors, the same revisions and digests on every node, and a leader change in
// the middle that keeps the revision arithmetic consistent.
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { prefixEnd as clientPrefixEnd } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { waitFor } from '@raftkv/testkit';
import { failure, TestCluster, unary } from './harness.js';

const b = (s: string): Buffer => Buffer.from(s);
const put = (key: string, value: string, o: Partial<etcdserverpb.PutRequest> = {}) =>
  etcdserverpb.PutRequest.fromPartial({ key: b(key), value: b(value), ...o });
const prefixEnd = (p: string): Buffer => clientPrefixEnd(b(p));
const putOp = (key: string, value: string): etcdserverpb.RequestOp => ({ request: { $case: 'requestPut', requestPut: put(key, value) } });
const getOp = (key: string, o: Partial<etcdserverpb.RangeRequest> = {}): etcdserverpb.RequestOp => ({
  request: { $case: 'requestRange', requestRange: get(key, o) },
});
const get = (key: string, o: Partial<etcdserverpb.RangeRequest> = {}) => etcdserverpb.RangeRequest.fromPartial({ key: b(key), ...o });

describe('etcdserverpb.KV on a 3-node cluster', () => {
  let c: TestCluster;
  const clients = new Map<string, etcdserverpb.KVClient>();
  const kv = (id: string): etcdserverpb.KVClient => {
    let k = clients.get(id);
    if (!k) clients.set(id, (k = new etcdserverpb.KVClient(c.node(id).address, credentials.createInsecure())));
    return k;
  };
  const call = {
    put: (id: string, r: etcdserverpb.PutRequest) => unary<etcdserverpb.PutResponse>((md, o, cb) => kv(id).put(r, md, o, cb), 10_000),
    range: (id: string, r: etcdserverpb.RangeRequest) =>
      unary<etcdserverpb.RangeResponse>((md, o, cb) => kv(id).range(r, md, o, cb), 10_000),
    del: (id: string, r: etcdserverpb.DeleteRangeRequest) =>
      unary<etcdserverpb.DeleteRangeResponse>((md, o, cb) => kv(id).deleteRange(r, md, o, cb), 10_000),
    txn: (id: string, r: etcdserverpb.TxnRequest) => unary<etcdserverpb.TxnResponse>((md, o, cb) => kv(id).txn(r, md, o, cb), 10_000),
    compact: (id: string, revision: number) =>
      unary<etcdserverpb.CompactionResponse>((md, o, cb) => kv(id).compact({ revision, physical: true }, md, o, cb), 10_000),
  };
  const digests = (): Promise<string[]> => c.digests();
  const revisions = async (): Promise<number[]> =>
    Promise.all(c.nodes.map(async (n) => (await call.range(n.id, get('x', { serializable: true }))).header!.revision));

  beforeAll(async () => {
    c = await TestCluster.start();
    await c.waitForLeader();
  });
  afterAll(async () => {
    for (const k of clients.values()) k.close();
    await c.stop();
  });

  test('Put through a follower, then Range on every node: revisions as etcd counts them', async () => {
    const { leader } = await c.waitForLeader();
    const followers = c.nodes.map((n) => n.id).filter((id) => id !== leader);
    const r1 = await call.put(followers[0]!, put('foo', 'bar'));
    expect(r1.header?.revision).toBe(2); // an empty store is at revision 1
    const r2 = await call.put(followers[1]!, put('foo', 'baz', { prevKv: true }));
    expect(r2.header?.revision).toBe(3);
    expect(r2.prevKv).toMatchObject({ key: b('foo'), value: b('bar'), createRevision: 2, modRevision: 2, version: 1 });
    for (const n of c.nodes) {
      const r = await call.range(n.id, get('foo'));
      expect(r.kvs).toEqual([{ key: b('foo'), value: b('baz'), createRevision: 2, modRevision: 3, version: 2, lease: 0 }]);
      expect(r.header?.revision).toBe(3);
      expect(r.header?.clusterId).toBeGreaterThan(0);
      expect(r.header?.raftTerm).toBeGreaterThan(0);
      const old = await call.range(n.id, get('foo', { revision: 2 }));
      expect(old.kvs[0]?.value).toEqual(b('bar'));
    }
    // Every node answers with its own member id, the same cluster id.
    const headers = await Promise.all(c.nodes.map((n) => call.range(n.id, get('foo', { serializable: true }))));
    expect(new Set(headers.map((h) => h.header?.memberId)).size).toBe(3);
    expect(new Set(headers.map((h) => h.header?.clusterId)).size).toBe(1);
  });

  test('Txn through a follower: compares, both branches, one revision for all its writes; a read-only Txn is not proposed', async () => {
    const { leader } = await c.waitForLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const before = (await call.range(leader, get('foo'))).header!.revision;
    const cmp = (value: string): etcdserverpb.Compare =>
      etcdserverpb.Compare.fromPartial({
        key: b('foo'),
        target: etcdserverpb.Compare_CompareTarget.VALUE,
        result: etcdserverpb.Compare_CompareResult.EQUAL,
        targetUnion: { $case: 'value', value: b(value) },
      });
    const ok = await call.txn(follower, {
      compare: [cmp('baz')],
      success: [putOp('t/1', 'a'), putOp('t/2', 'b'), getOp('t/', { rangeEnd: prefixEnd('t/') })],
      failure: [],
    });
    expect(ok.succeeded).toBe(true);
    expect(ok.header?.revision).toBe(before + 1);
    const r = ok.responses[2]?.response;
    expect(r?.$case === 'responseRange' && r.responseRange.kvs.map((kv) => [kv.key.toString(), kv.modRevision, kv.version])).toEqual([
      ['t/1', before + 1, 1],
      ['t/2', before + 1, 1],
    ]);
    const lost = await call.txn(follower, { compare: [cmp('nope')], success: [putOp('t/3', 'c')], failure: [getOp('foo')] });
    expect(lost.succeeded).toBe(false);
    expect(lost.header?.revision).toBe(before + 1); // nothing written: the revision did not move
    const f = lost.responses[0]?.response;
    expect(f?.$case === 'responseRange' && f.responseRange.kvs[0]?.value).toEqual(b('baz'));
    // A read-only Txn leaves the log alone: no entry is appended for it.
    const applied = (await c.status(leader)).appliedIndex;
    for (let i = 0; i < 3; i++) await call.txn(follower, { compare: [], success: [getOp('foo')], failure: [] });
    expect((await c.status(leader)).appliedIndex).toBe(applied);
  });

  test('DeleteRange of a prefix, serializable and linearizable reads, the same revision everywhere', async () => {
    const { leader } = await c.waitForLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const del = await call.del(
      follower,
      etcdserverpb.DeleteRangeRequest.fromPartial({ key: b('t/'), rangeEnd: prefixEnd('t/'), prevKv: true }),
    );
    expect(del.deleted).toBe(2);
    expect(del.prevKvs.map((kv) => kv.key.toString())).toEqual(['t/1', 't/2']);
    // A linearizable read on any node sees the delete at once.
    for (const n of c.nodes) {
      const r = await call.range(n.id, get('t/', { rangeEnd: prefixEnd('t/') }));
      expect(r.count).toBe(0);
      expect(r.header?.revision).toBe(del.header?.revision);
    }
    // A serializable one catches up: the same revision on every node.
    await waitFor('every node at the delete', async () => {
      const revs = await revisions();
      return revs.every((rev) => rev === del.header?.revision) ? revs : undefined;
    });
    const nothing = await call.del(follower, etcdserverpb.DeleteRangeRequest.fromPartial({ key: b('t/'), rangeEnd: prefixEnd('t/') }));
    expect(nothing).toMatchObject({ deleted: 0, header: { revision: del.header?.revision } });
  });

  test("Compact through the log: etcd's errors for compacted and future revisions, and for bad requests", async () => {
    const { leader } = await c.waitForLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const rev = (await call.put(follower, put('c', '1'))).header!.revision;
    await call.put(follower, put('c', '2'));
    await call.compact(follower, rev);
    for (const n of c.nodes) {
      const e = await failure(call.range(n.id, get('c', { revision: rev - 1, serializable: n.id !== leader })));
      expect([e.code, e.details]).toEqual([status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted']);
      expect((await call.range(n.id, get('c', { revision: rev }))).kvs[0]?.value).toEqual(b('1'));
    }
    const again = await failure(call.compact(follower, rev));
    expect([again.code, again.details]).toEqual([status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted']);
    const future = await failure(call.range(follower, get('c', { revision: rev + 100 })));
    expect([future.code, future.details]).toEqual([status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision']);
    const noKey = await failure(call.put(follower, put('', 'x')));
    expect([noKey.code, noKey.details]).toEqual([status.INVALID_ARGUMENT, 'etcdserver: key is not provided']);
    const big = await failure(call.put(follower, put('big', 'x'.repeat(1_600_000))));
    expect([big.code, big.details]).toEqual([status.INVALID_ARGUMENT, 'etcdserver: request is too large']);
    const ops = Array.from({ length: 129 }, (_, i) => putOp(`k${i}`, 'v'));
    const many = await failure(call.txn(follower, { compare: [], success: ops, failure: [] }));
    expect([many.code, many.details]).toEqual([status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request']);
    const dup = await failure(call.txn(follower, { compare: [], success: [putOp('d', '1'), putOp('d', '2')], failure: [] }));
    expect([dup.code, dup.details]).toEqual([status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request']);
    const lease = await failure(call.put(follower, put('l', 'v', { lease: 42 })));
    expect([lease.code, lease.details]).toEqual([status.NOT_FOUND, 'etcdserver: requested lease not found']);
  });

  test('a leader change in the middle keeps the revisions consistent, and the digests equal', async () => {
    const first = await c.waitForLeader();
    const start = (await call.put(first.leader, put('lc', '0'))).header!.revision;
    const writes: number[] = [];
    for (let i = 1; i <= 5; i++) writes.push((await call.put(first.leader, put('lc', String(i)))).header!.revision);
    const to = c.nodes.map((n) => n.id).find((id) => id !== first.leader)!;
    await new Promise<void>((resolve, reject) =>
      c
        .adminClient(first.leader)
        .transferLeadership({ to }, new Metadata(), { deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve())),
    );
    const second = await c.waitForLeader();
    expect(second.leader).not.toBe(first.leader);
    // Through a node that is not the new leader (the old leader, now a follower).
    for (let i = 6; i <= 10; i++) writes.push((await call.put(first.leader, put('lc', String(i)))).header!.revision);
    expect(writes).toEqual(Array.from({ length: 10 }, (_, i) => start + i + 1));
    const r = await call.range(to, get('lc'));
    expect(r.kvs[0]).toMatchObject({ value: b('10'), version: 11, modRevision: start + 10 });
    const ds = await waitFor('equal digests', async () => {
      const d = await digests();
      return new Set(d).size === 1 ? d : undefined;
    });
    expect(ds[0]).toMatch(/^\d+\/[0-9a-f]{64}\/\d+$/);
    expect(new Set(await revisions()).size).toBe(1);
  });
});
