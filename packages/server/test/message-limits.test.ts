// Message size admission (issue 15). With --peer-listen the client port accepts what etcd's does,
// --max-request-bytes plus 512 KiB of gRPC overhead, and refuses more with grpc-js's own
// RESOURCE_EXHAUSTED; a write between the two limits gets etcd's "request is too large". A write just
// under --max-request-bytes still goes through a follower (forwarded on the peer port) and replicates.
// The peer port accepts what peer batches need, not 64 MiB. Without --peer-listen one port serves
// both, at the peer limit, and etcd's own check still refuses an oversized write. Health and a clean
// SIGTERM stop work with the two servers.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { freePorts, waitFor } from '@raftkv/testkit';
import { clientReceiveLimit, GRPC_OVERHEAD_BYTES, peerReceiveLimit } from '../src/grpc/grpc-options.js';
import { failure, healthCheck, TestCluster, unary } from './harness.js';

const MAX_REQUEST = 1 << 20;
const MB = 1 << 20;

function etcdPut(address: string, key: string, valueBytes: number): Promise<etcdserverpb.PutResponse> {
  const kv = new etcdserverpb.KVClient(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * MB });
  const value = Buffer.alloc(valueBytes, 0x61);
  return unary<etcdserverpb.PutResponse>(
    (md, o, cb) => kv.put({ key: Buffer.from(key), value, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false }, md, o, cb),
    20_000,
  ).finally(() => kv.close());
}

describe('message size limits with --peer-listen', () => {
  let c: TestCluster;
  const peerPorts = new Map<string, number>();

  beforeAll(async () => {
    const ids = ['n1', 'n2', 'n3'];
    (await freePorts(ids.length)).forEach((p, i) => peerPorts.set(ids[i]!, p));
    const peers = ids.map((id) => `${id}=127.0.0.1:${peerPorts.get(id)}`).join(',');
    c = await TestCluster.start({
      size: 3,
      extraFlags: ['--max-request-bytes', String(MAX_REQUEST)],
      nodeFlags: (id) => ['--peers', peers, '--peer-listen', `127.0.0.1:${peerPorts.get(id)}`],
    });
    await c.waitForLeader();
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('the client port refuses a message over --max-request-bytes + 512 KiB with RESOURCE_EXHAUSTED', async () => {
    const e = await failure(etcdPut(c.node('n1').address, 'big', clientReceiveLimit(MAX_REQUEST) + 1024));
    expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  test('a write between the two limits gets etcd\'s "request is too large"', async () => {
    const e = await failure(etcdPut(c.node('n1').address, 'big', MAX_REQUEST + GRPC_OVERHEAD_BYTES / 2));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe('etcdserver: request is too large');
  });

  test('a write just under --max-request-bytes goes through a follower and replicates', async () => {
    const { leader } = await c.waitForLeader();
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const valueBytes = MAX_REQUEST - 1024;
    await etcdPut(c.node(follower).address, 'near-max', valueBytes);
    for (const id of ['n1', 'n2', 'n3'])
      await waitFor(`near-max on ${id}`, async () => ((await c.read(id, 'near-max', true)).value.length === valueBytes ? true : undefined));
  });

  test('several near-max writes at once replicate (peer batches stay under the peer limit)', async () => {
    const valueBytes = MAX_REQUEST - 1024;
    // 18 MiB at once can cost a loaded machine an election; a put that saw one is sent again (idempotent here).
    const putAgainOnUnavailable = async (key: string): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await etcdPut(c.node((await c.waitForLeader()).leader).address, key, valueBytes);
          return;
        } catch (e) {
          if ((e as ServiceError).code !== status.UNAVAILABLE || attempt === 3) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => putAgainOnUnavailable(`many-${i}`)));
    for (const id of ['n1', 'n2', 'n3'])
      await waitFor(`many-11 on ${id}`, async () => ((await c.read(id, 'many-11', true)).value.length === valueBytes ? true : undefined));
  });

  test('the peer port refuses a message over the peer limit (not 64 MiB)', async () => {
    const limit = peerReceiveLimit(MAX_REQUEST);
    expect(limit).toBeLessThan(10 * MB);
    const e = await failure(etcdPut(`127.0.0.1:${peerPorts.get('n1')}`, 'huge', limit + 1024));
    expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  test('both servers answer health checks and stop cleanly on SIGTERM', async () => {
    for (const address of [c.node('n3').address, `127.0.0.1:${peerPorts.get('n3')}`])
      expect(await healthCheck(address, 'raftkv.v1.KV')).toBe('SERVING');
    expect(await c.stopNode('n3', 'SIGTERM')).toEqual({ code: 0, signal: null });
    expect(c.logs('n3')).toMatch(/"message":"stopped"/);
  });
});

describe('message size limits when peers share the client port', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start({ size: 1, extraFlags: ['--max-request-bytes', String(MAX_REQUEST)] });
    await c.waitForLeader();
  });
  afterAll(async () => {
    await c?.stop();
  });

  test("a write over --max-request-bytes is refused by etcd's check; one over the peer limit by grpc-js", async () => {
    const tooLarge = await failure(etcdPut(c.node('n1').address, 'big', 2 * MAX_REQUEST));
    expect(tooLarge.details).toBe('etcdserver: request is too large');
    const huge = await failure(etcdPut(c.node('n1').address, 'huge', peerReceiveLimit(MAX_REQUEST) + 1024));
    expect(huge.code).toBe(status.RESOURCE_EXHAUSTED);
    await etcdPut(c.node('n1').address, 'near-max', MAX_REQUEST - 1024);
  });
});
