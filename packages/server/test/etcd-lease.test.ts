// etcd's Lease API on a real 3-node cluster: grants, keep-alives and revokes through followers, expiry
// decided by the leader alone and deleting a lease's keys at one revision on every node, and a leader
// killed mid-lease: the new leader renews the lease (etcd's Promote), so it does not expire because of
// the election, and expires later on the new leader's clock. Every node ends with the same digest.
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { waitFor } from '@raftkv/testkit';
import { TestCluster, unary } from './harness.js';

const b = (s: string): Buffer => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('etcdserverpb.Lease on a 3-node cluster', () => {
  let c: TestCluster;
  const kvs = new Map<string, etcdserverpb.KVClient>();
  const leases = new Map<string, etcdserverpb.LeaseClient>();
  const client = <T>(m: Map<string, T>, id: string, make: (a: string) => T): T => {
    let x = m.get(id);
    if (!x) m.set(id, (x = make(c.node(id).address)));
    return x;
  };
  const kv = (id: string) => client(kvs, id, (a) => new etcdserverpb.KVClient(a, credentials.createInsecure()));
  const lease = (id: string) => client(leases, id, (a) => new etcdserverpb.LeaseClient(a, credentials.createInsecure()));
  const grant = (id: string, TTL: number) =>
    unary<etcdserverpb.LeaseGrantResponse>((md, o, cb) => lease(id).leaseGrant({ TTL, ID: 0 }, md, o, cb), 10_000);
  const revoke = (id: string, ID: number) =>
    unary<etcdserverpb.LeaseRevokeResponse>((md, o, cb) => lease(id).leaseRevoke({ ID }, md, o, cb), 10_000);
  const ttl = (id: string, ID: number) =>
    unary<etcdserverpb.LeaseTimeToLiveResponse>((md, o, cb) => lease(id).leaseTimeToLive({ ID, keys: true }, md, o, cb), 10_000);
  const put = (id: string, key: string, leaseId: number) =>
    unary<etcdserverpb.PutResponse>(
      (md, o, cb) => kv(id).put(etcdserverpb.PutRequest.fromPartial({ key: b(key), value: b('v'), lease: leaseId }), md, o, cb),
      10_000,
    );
  /** The live keys with this prefix on `id`'s node, from its own state (serializable). */
  const keysOn = async (id: string, prefix: string): Promise<{ keys: string[]; revision: number }> => {
    const end = b(prefix);
    end[end.length - 1]!++;
    const r = await unary<etcdserverpb.RangeResponse>(
      (md, o, cb) => kv(id).range(etcdserverpb.RangeRequest.fromPartial({ key: b(prefix), rangeEnd: end, serializable: true }), md, o, cb),
      10_000,
    );
    return { keys: r.kvs.map((k) => k.key.toString()), revision: r.header!.revision };
  };
  const digests = (ids: string[]): Promise<string[]> =>
    Promise.all(
      ids.map(
        (id) =>
          new Promise<string>((resolve, reject) =>
            c.adminClient(id).digest({}, (err, r) => (err ? reject(err) : resolve(`${r!.appliedIndex}/${r!.digest}`))),
          ),
      ),
    );
  const sameDigests = (ids: string[]) =>
    waitFor('every node at the same applied index and digest', async () => {
      const d = await digests(ids);
      if (new Set(d).size !== 1) throw new Error(d.join(' '));
      return d[0]!;
    });
  const roles = async () => {
    const { leader } = await c.waitForLeader();
    return {
      leader,
      followers: c
        .running()
        .map((n) => n.id)
        .filter((id) => id !== leader),
    };
  };

  beforeAll(async () => {
    c = await TestCluster.start();
    await c.waitForLeader();
  });
  afterAll(async () => {
    for (const x of [...kvs.values(), ...leases.values()]) x.close();
    await c.stop();
  });

  test('kept alive through a follower past its TTL; left alone, expires on the leader and its keys go at one revision everywhere', async () => {
    const { followers } = await roles();
    const [f1, f2] = [followers[0]!, followers[1]!];
    const g = await grant(f1, 3);
    expect(g.TTL).toBe(3);
    expect(g.ID).toBeGreaterThan(0);
    expect(g.ID).toBeLessThan(2 ** 53);
    await put(f2, 'exp/a', g.ID);
    await put(f1, 'exp/b', g.ID);
    // A keep-alive stream on a follower (forwarded to the leader) for twice the TTL.
    const stream = lease(f2).leaseKeepAlive();
    const answers: etcdserverpb.LeaseKeepAliveResponse[] = [];
    stream.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => answers.push(r));
    stream.on('error', () => undefined);
    for (let i = 0; i < 6; i++) {
      stream.write({ ID: g.ID });
      await sleep(1000);
    }
    stream.end();
    expect(answers.length).toBeGreaterThanOrEqual(5);
    expect(answers.every((a) => a.ID === g.ID && a.TTL === 3)).toBe(true);
    const held = await keysOn(f1, 'exp/');
    expect(held.keys).toEqual(['exp/a', 'exp/b']);
    // Now it expires: both keys in one delete revision, on every node.
    for (const n of c.running()) {
      await waitFor(
        `${n.id} to drop the expired lease's keys`,
        async () => {
          const r = await keysOn(n.id, 'exp/');
          if (r.keys.length > 0) throw new Error(r.keys.join(','));
          expect(r.revision).toBe(held.revision + 1);
          return true;
        },
        15_000,
      );
    }
    expect((await ttl(f1, g.ID)).TTL).toBe(-1);
    // A keep-alive of the gone lease answers TTL 0, as etcd.
    const late = lease(f1).leaseKeepAlive();
    const answer = new Promise<etcdserverpb.LeaseKeepAliveResponse>((resolve) => late.once('data', resolve));
    late.write({ ID: g.ID });
    expect((await answer).TTL).toBe(0);
    late.end();
    await sameDigests(c.running().map((n) => n.id));
  });

  test('a revoke through a follower deletes the keys on every node; a second one is refused', async () => {
    const { followers } = await roles();
    const g = await grant(followers[0]!, 60);
    await put(followers[1]!, 'rev/a', g.ID);
    const t = await ttl(followers[1]!, g.ID);
    expect({ granted: t.grantedTTL, keys: t.keys.map(String) }).toEqual({ granted: 60, keys: ['rev/a'] });
    expect(t.TTL).toBeGreaterThan(55);
    await revoke(followers[1]!, g.ID);
    for (const n of c.running())
      await waitFor(`${n.id} to apply the revoke`, async () => {
        expect((await keysOn(n.id, 'rev/')).keys).toEqual([]);
        return true;
      });
    const again = await revoke(followers[0]!, g.ID).catch((e: ServiceError) => e);
    expect(again).toMatchObject({ details: 'etcdserver: requested lease not found', code: 5 });
    const missing = await put(followers[0]!, 'rev/b', g.ID).catch((e: ServiceError) => e);
    expect(missing).toMatchObject({ details: 'etcdserver: requested lease not found', code: 5 });
  });

  test('killing the leader does not expire a lease with time left: the new leader renews it, then expires it', async () => {
    const { leader } = await roles();
    const g = await grant(leader, 6);
    await put(leader, 'kill/a', g.ID);
    const granted = Date.now();
    await sleep(3000);
    await c.stopNode(leader, 'SIGKILL');
    const next = await roles();
    // Past the lease's original deadline: still there, with a fresh TTL on the new leader.
    await sleep(Math.max(0, granted + 7000 - Date.now()));
    const t = await ttl(next.leader, g.ID);
    expect(t.TTL).toBeGreaterThan(0);
    expect((await keysOn(next.leader, 'kill/')).keys).toEqual(['kill/a']);
    c.startNode(leader);
    // Nobody keeps it alive: the new leader expires it, and every node (the restarted one too) agrees.
    for (const id of c.nodes.map((n) => n.id)) {
      await waitFor(
        `${id} to drop kill/a`,
        async () => {
          expect((await keysOn(id, 'kill/')).keys).toEqual([]);
          return true;
        },
        20_000,
      );
    }
    await sameDigests(c.nodes.map((n) => n.id));
  });
});
