// Overload and hostile client input on one real 3-node cluster (small admission bounds so the limits
// are reached quickly): concurrent 1 MiB puts, a storm of concurrent calls on many connections, and
// random bytes sent as the request of every client method of both APIs. Every failure is a clean gRPC
// status (etcd's message where etcd has one), no node crashes, every node's RSS stays under 600 MiB, and
// afterwards the cluster serves writes and reads with equal digests.
import { credentials, makeGenericClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { waitFor } from '@raftkv/testkit';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TestCluster, unary } from './harness.js';

const MIB = 1 << 20;
const RSS_BOUND = 600 * MIB;
const b = (s: string): Buffer => Buffer.from(s);

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Every client method a caller may reach with arbitrary bytes (membership changes left out: a decoded one could act). */
const METHODS = [
  '/raftkv.v1.KV/Propose',
  '/raftkv.v1.KV/Read',
  '/raftkv.v1.Admin/Status',
  '/raftkv.v1.Admin/Digest',
  '/raftkv.v1.Admin/ListMembers',
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/DeleteRange',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.KV/Compact',
  '/etcdserverpb.Maintenance/Alarm',
];

/** A raw client: requests are bytes as given, responses bytes as received. */
const RawClient = makeGenericClientConstructor({}, 'raw');
function rawCall(c: Client, path: string, body: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.makeUnaryRequest(
      path,
      (x: Buffer) => x,
      (x: Buffer) => x,
      body,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

/** The statuses a call may end with under overload or bad input; anything else (UNKNOWN, a crash) fails the test. */
const CLEAN = new Set([
  status.INVALID_ARGUMENT,
  status.RESOURCE_EXHAUSTED,
  status.OUT_OF_RANGE,
  status.NOT_FOUND,
  status.FAILED_PRECONDITION,
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.UNIMPLEMENTED,
  status.INTERNAL, // only "Error deserializing request" (checked below), as etcd's "error unmarshalling request"
]);

describe('overload and fuzzed client requests (3 nodes)', () => {
  let c: TestCluster;
  const clients: Client[] = [];
  const etcdKv = (address: string): etcdserverpb.KVClient => {
    // A channel option that differs per client: its own connection, as separate processes would have.
    const k = new etcdserverpb.KVClient(address, credentials.createInsecure(), { 'grpc.test_channel': clients.length });
    clients.push(k);
    return k;
  };
  const outcomes = async (ps: Promise<unknown>[]): Promise<{ ok: number; errors: ServiceError[] }> => {
    const rs = await Promise.allSettled(ps);
    return {
      ok: rs.filter((r) => r.status === 'fulfilled').length,
      errors: rs.flatMap((r) => (r.status === 'rejected' ? [r.reason as ServiceError] : [])),
    };
  };
  const expectClean = (errors: readonly ServiceError[]): void => {
    for (const e of errors) {
      expect(CLEAN).toContain(e.code);
      if (e.code === status.INTERNAL) expect(e.details).toMatch(/deserializ/i);
    }
  };
  const expectHealthy = (): void => {
    for (const n of c.nodes) {
      expect(n.proc?.exitCode).toBeNull();
      expect(rssOf(n.proc!.pid!)).toBeLessThan(RSS_BOUND);
    }
  };

  beforeAll(async () => {
    c = await TestCluster.start({ extraFlags: ['--max-pending-bytes', '8Mi', '--max-concurrent-streams', '64'] });
    await c.waitForLeader();
  }, 60_000);
  afterAll(async () => {
    for (const k of clients) k.close();
    await c.stop();
  });

  test('concurrent 1 MiB puts: some accepted, the rest refused with "too many requests"; oversized ones "request is too large"', async () => {
    const { leader } = await c.waitForLeader();
    const value = Buffer.alloc(MIB, 0x62);
    const kvs = Array.from({ length: 40 }, (_, i) => etcdKv(c.nodes[i % 3]!.address));
    const puts = kvs.flatMap((kv, i) =>
      [0, 1].map((j) =>
        unary<etcdserverpb.PutResponse>(
          (md, o, cb) => kv.put(etcdserverpb.PutRequest.fromPartial({ key: b(`big/${i}/${j}`), value }), md, o, cb),
          30_000,
        ),
      ),
    );
    const r = await outcomes(puts);
    expectClean(r.errors);
    expect(r.ok).toBeGreaterThan(0);
    const busy = r.errors.filter((e) => e.code === status.RESOURCE_EXHAUSTED);
    expect(busy.length).toBeGreaterThan(0); // 80 MiB offered against an 8 MiB bound
    for (const e of busy) expect(e.details).toBe('etcdserver: too many requests');
    // Larger than --max-request-bytes (1.5 MiB): etcd's refusal, before anything is proposed.
    const tooLarge = await unary<etcdserverpb.PutResponse>(
      (md, o, cb) => kvs[0]!.put(etcdserverpb.PutRequest.fromPartial({ key: b('huge'), value: Buffer.alloc(2 * MIB) }), md, o, cb),
      30_000,
    ).catch((e: ServiceError) => e);
    expect(tooLarge).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' });
    expectHealthy();
    expect(c.nodes.some((n) => n.id === leader)).toBe(true);
  }, 120_000);

  test('a storm of 1,000 concurrent calls on 20 connections: each answered or refused cleanly', async () => {
    const kvs = Array.from({ length: 20 }, (_, i) => etcdKv(c.nodes[i % 3]!.address));
    const calls = kvs.flatMap((kv, i) =>
      Array.from({ length: 50 }, (_, j) =>
        j % 4 === 0
          ? unary<etcdserverpb.PutResponse>(
              (md, o, cb) => kv.put(etcdserverpb.PutRequest.fromPartial({ key: b(`storm/${i}/${j}`), value: b('v') }), md, o, cb),
              30_000,
            )
          : unary<etcdserverpb.RangeResponse>(
              (md, o, cb) => kv.range(etcdserverpb.RangeRequest.fromPartial({ key: b(`storm/${i}/0`) }), md, o, cb),
              30_000,
            ),
      ),
    );
    const r = await outcomes(calls);
    expectClean(r.errors);
    expect(r.ok).toBeGreaterThan(500);
    expectHealthy();
  }, 120_000);

  test('random bytes and oversized fields as the request of every client method: clean statuses, no crash', async () => {
    const raw = c.nodes.map((n) => new RawClient(n.address, credentials.createInsecure()));
    clients.push(...raw);
    const bodies = [
      ...Array.from({ length: 12 }, (_, i) => randomBytes(1 + ((i * 97) % 300))),
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a length prefix far past the end
      Buffer.concat([Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x01]), Buffer.alloc(2 * MIB, 1)]), // a 2 MiB first field
      Buffer.alloc(0),
    ];
    const calls = METHODS.flatMap((path, m) => bodies.map((body, i) => rawCall(raw[(m + i) % 3]!, path, body)));
    const r = await outcomes(calls);
    expectClean(r.errors);
    expectHealthy();
  }, 120_000);

  test('afterwards the cluster serves writes and reads normally, with equal digests', async () => {
    const kv = etcdKv(c.nodes[1]!.address);
    await unary<etcdserverpb.PutResponse>(
      (md, o, cb) => kv.put(etcdserverpb.PutRequest.fromPartial({ key: b('after'), value: b('ok') }), md, o, cb),
      10_000,
    );
    for (const n of c.nodes) {
      const k = etcdKv(n.address);
      const got = await unary<etcdserverpb.RangeResponse>(
        (md, o, cb) => k.range(etcdserverpb.RangeRequest.fromPartial({ key: b('after') }), md, o, cb),
        10_000,
      );
      expect(got.kvs.map((x) => x.value.toString())).toEqual(['ok']);
    }
    await waitFor('equal digests', async () => (new Set(await c.digests()).size === 1 ? true : undefined), 20_000);
    expectHealthy();
  }, 60_000);
});
