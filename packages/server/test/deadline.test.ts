// Every call is answered before the caller's deadline, whatever the cluster is doing: a follower
// that still believes in a leader which stopped answering (paused, or behind a partition) and a leader
// that lost its quorum but has not yet noticed (long election timeouts keep both states for seconds)
// answer UNAVAILABLE, not DEADLINE_EXCEEDED. The write may still be applied later, so the error does
// not say it was not (no raftkv-retry trailer).
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { notApplied } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { failure, TestCluster, unary } from './harness.js';

const DEADLINE_MS = 1500;

describe('answers before the deadline', () => {
  let c: TestCluster;
  let leader: string;
  const paused: string[] = [];
  const pause = (id: string) => {
    c.node(id).proc!.kill('SIGSTOP');
    paused.push(id);
  };
  const resumeAll = () => {
    for (const id of paused.splice(0)) c.node(id).proc?.kill('SIGCONT');
  };
  const etcdPut = (id: string, key: string) => {
    const kv = new etcdserverpb.KVClient(c.node(id).address, credentials.createInsecure());
    const req = etcdserverpb.PutRequest.fromPartial({ key: Buffer.from(key), value: Buffer.from('v') });
    return unary<etcdserverpb.PutResponse>((md, o, cb) => kv.put(req, md, o, cb), DEADLINE_MS).finally(() => kv.close());
  };
  /** The call's error and how long it took. */
  const timed = async (p: () => Promise<unknown>): Promise<{ e: ServiceError; ms: number }> => {
    const t0 = Date.now();
    const e = await failure(p());
    return { e, ms: Date.now() - t0 };
  };

  beforeAll(async () => {
    // Long election timeouts: a paused leader keeps its followers' belief, a cut-off leader its role.
    c = await TestCluster.start({ electionTimeoutMinMs: 6000, electionTimeoutMaxMs: 7000 });
    ({ leader } = await c.waitForLeader());
    await c.put(leader, 'warm', 'x');
  }, 60_000);
  afterEach(resumeAll);
  afterAll(async () => {
    resumeAll();
    await c?.stop();
  });

  test('a follower whose leader stopped answering: raftkv.v1 and etcd writes', async () => {
    const follower = c.nodes.find((n) => n.id !== leader)!.id;
    pause(leader);
    const v1 = await timed(() => c.put(follower, 'k1', 'v', DEADLINE_MS));
    expect([status[v1.e.code], v1.e.details]).toEqual(['UNAVAILABLE', expect.stringMatching(/request timed out/)]);
    expect(notApplied(v1.e)).toBe(false);
    expect(v1.ms).toBeLessThan(DEADLINE_MS);
    const etcd = await timed(() => etcdPut(follower, 'k2'));
    expect([status[etcd.e.code], etcd.e.details]).toEqual(['UNAVAILABLE', 'etcdserver: request timed out']);
    expect(etcd.ms).toBeLessThan(DEADLINE_MS);
  }, 30_000);

  test('a leader whose followers stopped answering: writes and linearizable reads', async () => {
    ({ leader } = await c.waitForLeader());
    for (const n of c.nodes) if (n.id !== leader) pause(n.id);
    const put = await timed(() => c.put(leader, 'k3', 'v', DEADLINE_MS));
    expect([status[put.e.code], put.e.details]).toEqual(['UNAVAILABLE', expect.stringMatching(/request timed out/)]);
    expect(put.ms).toBeLessThan(DEADLINE_MS);
    const read = await timed(() => c.read(leader, 'warm', false, DEADLINE_MS));
    expect(status[read.e.code]).toBe('UNAVAILABLE');
    expect(read.ms).toBeLessThan(DEADLINE_MS);
    const etcd = await timed(() => etcdPut(leader, 'k4'));
    expect([status[etcd.e.code], etcd.e.details]).toEqual(['UNAVAILABLE', 'etcdserver: request timed out']);
  }, 30_000);
});
