// The storage quota with etcd's NOSPACE alarm on a real 3-node cluster (small --quota-backend-bytes):
// fill to the quota; writes are refused with etcd's error on every node and both APIs, and the alarm is
// raised cluster-wide (etcdctl alarm list); reads and deletes still work; after deleting and compacting,
// etcdctl alarm disarm lowers it, writes resume and every node's digest is equal.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { waitFor } from '@raftkv/testkit';
import { haveEtcdctl, run, type Seen } from './cli/etcdctl-run.js';
import { failure, TestCluster, unary } from './harness.js';

const NO_SPACE = 'etcdserver: mvcc: database space exceeded';
const b = (s: string): Buffer => Buffer.from(s);

const etcdctl = async (endpoint: string, args: readonly string[]): Promise<Seen> => run('etcdctl', endpoint, { args });

const describeIf = haveEtcdctl() ? describe : describe.skip;

describeIf('storage quota and the NOSPACE alarm (3 nodes, --quota-backend-bytes 3Mi)', () => {
  let c: TestCluster;
  const kvs = new Map<string, etcdserverpb.KVClient>();
  const kv = (id: string): etcdserverpb.KVClient => {
    let k = kvs.get(id);
    if (!k) kvs.set(id, (k = new etcdserverpb.KVClient(c.node(id).address, credentials.createInsecure())));
    return k;
  };
  const put = (id: string, key: string, value: Buffer) =>
    unary<etcdserverpb.PutResponse>(
      (md, o, cb) => kv(id).put({ key: b(key), value, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false }, md, o, cb),
      10_000,
    );
  const range = (id: string, r: Partial<etcdserverpb.RangeRequest>) =>
    unary<etcdserverpb.RangeResponse>((md, o, cb) => kv(id).range(etcdserverpb.RangeRequest.fromPartial(r), md, o, cb), 10_000);

  beforeAll(async () => {
    // Small snapshots: the log (which holds the puts too) is truncated soon after the keys are deleted.
    c = await TestCluster.start({ extraFlags: ['--quota-backend-bytes', '3Mi', '--snapshot-entries', '20'] });
    await c.waitForLeader();
  }, 60_000);
  afterAll(async () => {
    for (const k of kvs.values()) k.close();
    await c.stop();
  });

  test('fill, refuse, alarm, read, delete, compact, disarm, write again; digests equal', async () => {
    const { leader } = await c.waitForLeader();
    const ids = c.nodes.map((n) => n.id);
    const follower = ids.find((id) => id !== leader)!;
    const value = Buffer.alloc(64 << 10, 0x61);
    let stored = 0;
    let refused: ServiceError | undefined;
    for (let i = 0; i < 200 && refused === undefined; i++) {
      try {
        await put(ids[i % 3]!, `fill/${String(i).padStart(3, '0')}`, value);
        stored++;
      } catch (e) {
        refused = e as ServiceError;
      }
    }
    expect(refused).toBeDefined();
    expect(refused!.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused!.details).toBe(NO_SPACE);
    expect(stored).toBeGreaterThan(5); // 3 MiB hold a few dozen 64 KiB values (and their log entries)

    // The alarm is raised through the log: every node sees it, etcdctl lists it (the leader's member id).
    const leaderMember = (await range(leader, { key: b('x'), serializable: true })).header!.memberId;
    await waitFor(
      'alarm raised',
      async () => ((await etcdctl(c.node(follower).address, ['alarm', 'list'])).stdout !== '' ? true : undefined),
      10_000,
    );
    for (const id of ids) {
      const r = await etcdctl(c.node(id).address, ['alarm', 'list']);
      expect(r).toMatchObject({ code: 0, stdout: `memberID:${leaderMember} alarm:NOSPACE \n` });
    }
    // raftctl's alarm commands print what etcdctl prints.
    for (const args of [
      ['alarm', 'list'],
      ['alarm', 'list', '-w', 'json'],
      ['alarm', 'list', '-w', 'table'],
    ]) {
      expect(run('raftctl', c.node(follower).address, { args })).toEqual(run('etcdctl', c.node(follower).address, { args }));
    }
    // Capped on every node and both APIs, even a small write; reads and deletes are served.
    for (const id of ids) {
      expect(await failure(put(id, 'small', b('v')))).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: NO_SPACE });
      expect(await failure(c.put(id, 'v1key', 'v'))).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: NO_SPACE });
      expect((await range(id, { key: b('fill/'), rangeEnd: b('fill0'), countOnly: true })).count).toBe(stored);
    }
    const put2 = await etcdctl(c.node(follower).address, ['put', 'k', 'v']);
    expect(put2.code).toBe(1);
    expect(put2.errors).toBe(`Error: ${NO_SPACE}`);
    const del = await etcdctl(c.node(follower).address, ['del', 'fill/', '--prefix']);
    expect(del).toMatchObject({ code: 0, stdout: `${stored}\n` });
    const rev = (await range(leader, { key: b('x') })).header!.revision;
    expect(await etcdctl(c.node(follower).address, ['compact', String(rev), '--physical'])).toMatchObject({
      code: 0,
      stdout: `compacted revision ${rev}\n`,
    });

    // Alarm lists are log entries too: they advance the log to the next snapshot, which truncates it.
    // Once the space is free, disarm lowers the alarm and writes are accepted again.
    await waitFor(
      'writes resume after disarm',
      async () => {
        for (let i = 0; i < 5; i++) await etcdctl(c.node(leader).address, ['alarm', 'list']);
        const d = await etcdctl(c.node(follower).address, ['alarm', 'disarm']);
        if (d.code !== 0) return undefined;
        return (await etcdctl(c.node(follower).address, ['put', 'after', 'disarm'])).code === 0 ? true : undefined;
      },
      60_000,
      500,
    );
    expect(await etcdctl(c.node(leader).address, ['alarm', 'list'])).toMatchObject({ code: 0, stdout: '' });
    expect(run('raftctl', c.node(leader).address, { args: ['alarm', 'disarm', '-w', 'json'] })).toEqual({
      code: 0,
      stdout: '{}\n',
      errors: '',
    });
    await c.put(follower, 'v1key', 'v');
    await waitFor('equal digests', async () => (new Set(await c.digests()).size === 1 ? true : undefined), 20_000);
  }, 180_000);
});
