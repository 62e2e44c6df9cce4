// --max-watchers-per-stream against a real node over a raw grpc-js Watch stream: a create beyond the
// bound is answered as etcd answers a refused create (created and canceled at once, watch id -1, a
// cancel reason naming the limit and the flag), and the stream and its other watchers keep working:
// events still arrive, and a create fits again once a watcher is canceled. The bound is per stream.
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { waitFor } from '@raftkv/testkit';
import { TestCluster, unary } from './harness.js';

const MAX = 3;

/** One raw Watch stream and every response it got. */
class RawWatch {
  readonly got: etcdserverpb.WatchResponse[] = [];
  private readonly call: ClientDuplexStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>;
  private ended = false;

  constructor(client: etcdserverpb.WatchClient) {
    this.call = client.watch();
    this.call.on('data', (r: etcdserverpb.WatchResponse) => this.got.push(r));
    this.call.on('error', () => (this.ended = true));
    this.call.on('end', () => (this.ended = true));
  }

  /** Creates a watcher on `key` and returns the response that answers it (the next created one). */
  async create(key: string): Promise<etcdserverpb.WatchResponse> {
    const seen = this.got.length;
    this.call.write({
      requestUnion: {
        $case: 'createRequest',
        createRequest: {
          key: Buffer.from(key),
          rangeEnd: Buffer.alloc(0),
          startRevision: 0,
          progressNotify: false,
          filters: [],
          prevKv: false,
          watchId: 0,
          fragment: false,
        },
      },
    });
    return this.next(seen, (r) => r.created, `the answer to creating ${key}`);
  }

  async cancel(watchId: number): Promise<void> {
    const seen = this.got.length;
    this.call.write({ requestUnion: { $case: 'cancelRequest', cancelRequest: { watchId } } });
    await this.next(seen, (r) => r.canceled && r.watchId === watchId, `the cancel of ${watchId}`);
  }

  next(from: number, match: (r: etcdserverpb.WatchResponse) => boolean, what: string): Promise<etcdserverpb.WatchResponse> {
    return waitFor(what, () => {
      if (this.ended) throw new Error(`the stream ended while waiting for ${what}`);
      return this.got.slice(from).find(match);
    });
  }

  close(): void {
    this.call.cancel();
  }
}

describe('--max-watchers-per-stream', () => {
  let c: TestCluster;
  let client: etcdserverpb.WatchClient;
  let kv: etcdserverpb.KVClient;
  const put = (key: string): Promise<etcdserverpb.PutResponse> =>
    unary((md, o, cb) =>
      kv.put(
        { key: Buffer.from(key), value: Buffer.from('v'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false },
        md,
        o,
        cb,
      ),
    );

  beforeAll(async () => {
    c = await TestCluster.start({ size: 1, extraFlags: ['--max-watchers-per-stream', String(MAX)] });
    await c.waitForLeader();
    client = new etcdserverpb.WatchClient(c.node('n1').address, credentials.createInsecure());
    kv = new etcdserverpb.KVClient(c.node('n1').address, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    kv?.close();
    await c?.stop();
  });

  test('a create past the bound is refused as etcd refuses one; the stream keeps working', async () => {
    const w = new RawWatch(client);
    try {
      const ids: number[] = [];
      for (const key of ['a', 'b', 'c']) {
        const r = await w.create(key);
        expect(r).toMatchObject({ created: true, canceled: false });
        ids.push(r.watchId);
      }
      const refused = await w.create('d');
      expect(refused).toMatchObject({ created: true, canceled: true, watchId: -1 });
      expect(refused.cancelReason).toContain(`at most ${MAX}`);
      expect(refused.cancelReason).toContain('--max-watchers-per-stream');
      // The watchers already there still get their events.
      const seen = w.got.length;
      await put('a');
      const ev = await w.next(seen, (r) => r.events.length > 0, 'the event for a');
      expect(ev.watchId).toBe(ids[0]);
      expect(ev.events[0]!.kv!.key.toString()).toBe('a');
      // Room again once one is canceled.
      await w.cancel(ids[1]!);
      expect(await w.create('d')).toMatchObject({ created: true, canceled: false });
      expect((await w.create('e')).watchId).toBe(-1);
    } finally {
      w.close();
    }
  });

  test('the bound is per stream: another stream on the same connection has its own', async () => {
    const first = new RawWatch(client);
    const second = new RawWatch(client);
    try {
      for (const key of ['a', 'b', 'c']) expect((await first.create(key)).canceled).toBe(false);
      for (const key of ['a', 'b', 'c']) expect((await second.create(key)).canceled).toBe(false);
      expect((await second.create('d')).canceled).toBe(true);
    } finally {
      first.close();
      second.close();
    }
  });
});
