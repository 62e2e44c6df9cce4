// The watch hub and a stream over it, on a real MVCC store: events in revision order, exactly once,
// for synced watchers, watchers from a past revision, slow watchers that fall behind and catch up,
// across a replaced store (a snapshot), with etcd 3.4's filters, prev_kv, fragments, ids and errors.
import { etcdserverpb, mvccpb } from '@raftkv/proto';
import { prefixEnd } from '@raftkv/client';
import { WatchHub, type HubOptions } from '../../src/watch/hub.js';
import { WatchSession } from '../../src/watch/stream.js';
import { b, del, op, openStore, put, txn, type OpenStore } from '../mvcc/helpers.js';

let s: OpenStore;
let hub: WatchHub;
const sessions: WatchSession[] = [];

function setUp(options: Partial<HubOptions> = {}): void {
  s = openStore();
  s.store.changes.enabled = true;
  hub = new WatchHub(s.store, { batchRows: 1000, watchersPerStep: 512, retryMs: 100, sliceMs: 5, ...options });
}
afterEach(() => {
  for (const x of sessions.splice(0)) x.close();
  hub.close();
  s.close();
});

/** A write as the node applies it: the hub hears of its rows once it is "committed". */
function apply(f: () => unknown): void {
  f();
  hub.notify(s.store.changes.take());
  hub.flush();
}

interface Client {
  readonly session: WatchSession;
  readonly got: etcdserverpb.WatchResponse[];
  /** false: the transport refuses writes until `unblock`. */
  blocked: boolean;
  unblock(): void;
}

function client(opts: { maxQueued?: number; maxRequestBytes?: number; progressIntervalMs?: number } = {}): Client {
  const got: etcdserverpb.WatchResponse[] = [];
  const c: Client = {
    got,
    blocked: false,
    unblock: () => {
      c.blocked = false;
      c.session.drained();
    },
    session: new WatchSession(
      {
        hub,
        store: s.store,
        header: (revision) => ({ clusterId: 1, memberId: 2, revision, raftTerm: 3 }),
        maxRequestBytes: opts.maxRequestBytes ?? 1 << 20,
        progressIntervalMs: opts.progressIntervalMs ?? 60_000,
        maxQueued: opts.maxQueued ?? 128,
      },
      {
        write: (r) => {
          // Events come as bytes (wire.ts): decoding them checks they are the WatchResponse etcd sends.
          got.push(Buffer.isBuffer(r) ? etcdserverpb.WatchResponse.decode(r) : r);
          return !c.blocked;
        },
      },
    ),
  };
  sessions.push(c.session);
  return c;
}

const create = (key: string, o: Partial<etcdserverpb.WatchCreateRequest> & { prefix?: boolean } = {}): etcdserverpb.WatchRequest => {
  const { prefix, ...rest } = o;
  return {
    requestUnion: {
      $case: 'createRequest',
      createRequest: etcdserverpb.WatchCreateRequest.fromPartial({
        key: b(key),
        ...(prefix ? { rangeEnd: prefixEnd(b(key)) } : {}),
        ...rest,
      }),
    },
  };
};

/** Each event as TYPE key@mod[=value][<prev]. */
const events = (rs: readonly etcdserverpb.WatchResponse[], id?: number): string[] =>
  rs
    .filter((r) => id === undefined || r.watchId === id)
    .flatMap((r) => r.events)
    .map(
      (e) =>
        `${e.type === mvccpb.Event_EventType.PUT ? 'PUT' : 'DEL'} ${e.kv!.key.toString()}@${e.kv!.modRevision}` +
        (e.type === mvccpb.Event_EventType.PUT ? `=${e.kv!.value.toString()}` : '') +
        (e.prevKv ? `<${e.prevKv.value.toString()}` : ''),
    );

test('a synced watcher gets each revision of its range once, in order, one response per revision', () => {
  setUp();
  const c = client();
  c.session.handle(create('p', { prefix: true }));
  expect(c.got[0]).toMatchObject({
    watchId: 0,
    created: true,
    canceled: false,
    header: { revision: 1, memberId: 2, clusterId: 1, raftTerm: 3 },
  });
  apply(() => s.store.put(put('p1', 'a'))); // 2
  apply(() => s.store.put(put('q', 'x'))); // 3: outside
  apply(() => s.store.txn(txn([], [op.put(put('p2', 'b')), op.put(put('p3', 'c'))]))); // 4
  apply(() => s.store.deleteRange(del('p', { prefix: true }))); // 5
  expect(events(c.got)).toEqual(['PUT p1@2=a', 'PUT p2@4=b', 'PUT p3@4=c', 'DEL p1@5', 'DEL p2@5', 'DEL p3@5']);
  expect(c.got.slice(1).map((r) => r.header!.revision)).toEqual([2, 4, 5]);
});

test('filters, prev_kv (none on a create), and a single key', () => {
  setUp();
  const c = client();
  c.session.handle(create('k', { prevKv: true }));
  c.session.handle(create('k', { filters: [etcdserverpb.WatchCreateRequest_FilterType.NOPUT] }));
  c.session.handle(create('k', { filters: [etcdserverpb.WatchCreateRequest_FilterType.NODELETE] }));
  apply(() => s.store.put(put('k', '1')));
  apply(() => s.store.put(put('k', '2')));
  apply(() => s.store.put(put('kk', '3')));
  apply(() => s.store.deleteRange(del('k')));
  expect(events(c.got, 0)).toEqual(['PUT k@2=1', 'PUT k@3=2<1', 'DEL k@5<2']);
  expect(events(c.got, 1)).toEqual(['DEL k@5']);
  expect(events(c.got, 2)).toEqual(['PUT k@2=1', 'PUT k@3=2']);
});

test('a past start revision replays history from the store, then goes on live without a gap or a duplicate', () => {
  setUp();
  apply(() => s.store.put(put('a', '1'))); // 2
  apply(() => s.store.put(put('a', '2'))); // 3
  const c = client();
  c.session.handle(create('a', { startRevision: 2, prevKv: true }));
  apply(() => s.store.put(put('a', '3'))); // 4: while it is unsynced
  expect(events(c.got)).toEqual([]);
  hub.catchUp();
  apply(() => s.store.put(put('a', '4'))); // 5: synced now
  expect(events(c.got)).toEqual(['PUT a@2=1', 'PUT a@3=2<1', 'PUT a@4=3<2', 'PUT a@5=4<3']);
  // The catch-up's response carries the store's revision, as etcd's syncWatchers.
  expect(c.got[1]!.header!.revision).toBe(4);
});

test('a future start revision waits for it', () => {
  setUp();
  const c = client();
  c.session.handle(create('a', { startRevision: 3 }));
  apply(() => s.store.put(put('a', '1'))); // 2
  apply(() => s.store.put(put('a', '2'))); // 3
  expect(events(c.got)).toEqual(['PUT a@3=2']);
});

test('a slow stream falls behind without holding up another, then catches up exactly once and in order', () => {
  setUp({ batchRows: 4 });
  const slow = client({ maxQueued: 2 });
  const fast = client();
  slow.session.handle(create('', { rangeEnd: b('\0') }));
  fast.session.handle(create('', { rangeEnd: b('\0') }));
  slow.blocked = true;
  const want: string[] = [];
  for (let i = 0; i < 30; i++) {
    apply(() => s.store.put(put(`k${i % 7}`, `${i}`)));
    want.push(`PUT k${i % 7}@${i + 2}=${i}`);
  }
  expect(events(fast.got)).toEqual(want);
  const before = slow.got.length;
  expect(before).toBeLessThan(5); // the created answer and the few events before the queue filled
  expect(hub.isSynced((slow.session as unknown as { watches: Map<number, { watcher: never }> }).watches.get(0)!.watcher)).toBe(false);
  slow.unblock();
  // Writes go on while it catches up in batches of 4 rows.
  for (let i = 30; i < 40; i++) {
    apply(() => s.store.put(put(`k${i % 7}`, `${i}`)));
    want.push(`PUT k${i % 7}@${i + 2}=${i}`);
    hub.catchUp();
  }
  for (let i = 0; i < 20; i++) hub.catchUp();
  expect(events(slow.got)).toEqual(want);
  expect(events(fast.got)).toEqual(want);
});

test('catch-up never splits a revision, even one larger than a batch', () => {
  setUp({ batchRows: 3 });
  apply(() => s.store.put(put('a', '0'))); // 2
  apply(() =>
    s.store.txn(
      txn(
        [],
        ['a', 'b', 'c', 'd', 'e'].map((k) => op.put(put(k, '1'))),
      ),
    ),
  ); // 3
  apply(() => s.store.put(put('b', '2'))); // 4
  apply(() => s.store.put(put('c', '3'))); // 5
  const c = client();
  c.session.handle(create('', { rangeEnd: b('\0'), startRevision: 2 }));
  const batches: string[][] = [];
  for (let i = 0; i < 5; i++) {
    const n = c.got.length;
    hub.catchUp();
    if (c.got.length > n) batches.push(events(c.got.slice(n)));
  }
  expect(batches).toEqual([['PUT a@2=0'], ['PUT a@3=1', 'PUT b@3=1', 'PUT c@3=1', 'PUT d@3=1', 'PUT e@3=1'], ['PUT b@4=2', 'PUT c@5=3']]);
});

test('a start revision below the compaction is answered created, then canceled with the compact revision', () => {
  setUp();
  for (let i = 0; i < 5; i++) apply(() => s.store.put(put('a', `${i}`))); // 2..6
  s.store.compact({ revision: 5, physical: true });
  const c = client();
  c.session.handle(create('a', { startRevision: 3 }));
  c.session.handle(create('a', { startRevision: 5 }));
  hub.catchUp();
  expect(c.got.map((r) => [r.watchId, r.created, r.canceled, r.compactRevision])).toEqual([
    [0, true, false, 0],
    [1, true, false, 0],
    [0, false, true, 5],
    [1, false, false, 0],
  ]);
  expect(events(c.got, 1)).toEqual(['PUT a@5=3', 'PUT a@6=4']);
  expect(hub.size).toBe(1);
});

test('ids: client-chosen, automatic ones skipping them, duplicates and empty ranges refused as etcd; cancel; progress', () => {
  setUp();
  const c = client();
  c.session.handle(create('a', { watchId: 1 }));
  c.session.handle(create('a'));
  c.session.handle(create('a'));
  c.session.handle(create('a', { watchId: 1 }));
  c.session.handle(create('b', { rangeEnd: b('a') }));
  expect(c.got.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason])).toEqual([
    [1, true, false, ''],
    [0, true, false, ''],
    [2, true, false, ''],
    [-1, true, true, 'mvcc: duplicate watch ID provided on the WatchStream'],
    [-1, true, true, 'mvcc: watcher range is empty'],
  ]);
  c.got.length = 0;
  c.session.handle({ requestUnion: { $case: 'cancelRequest', cancelRequest: { watchId: 0 } } });
  c.session.handle({ requestUnion: { $case: 'cancelRequest', cancelRequest: { watchId: 9 } } });
  apply(() => s.store.put(put('a', '1')));
  c.session.handle({ requestUnion: { $case: 'progressRequest', progressRequest: {} } });
  expect(c.got.map((r) => [r.watchId, r.canceled, r.header!.revision, r.events.length])).toEqual([
    [0, true, 1, 0],
    [1, false, 2, 1],
    [2, false, 2, 1],
    [-1, false, 2, 0],
  ]);
  c.session.close();
  expect(hub.size).toBe(0);
});

test('fragment: a response over the limit goes in parts, all but the last marked fragment', () => {
  setUp();
  const c = client({ maxRequestBytes: 200 });
  c.session.handle(create('', { rangeEnd: b('\0'), fragment: true }));
  c.session.handle(create('', { rangeEnd: b('\0') }));
  const big = 'x'.repeat(80);
  apply(() =>
    s.store.txn(
      txn(
        [],
        ['a', 'b', 'c', 'd'].map((k) => op.put(put(k, big))),
      ),
    ),
  );
  const frag = c.got.filter((r) => r.watchId === 0 && !r.created);
  expect(frag.length).toBeGreaterThan(1);
  expect(frag.map((r) => r.fragment)).toEqual([...frag.slice(1).map(() => true), false]);
  for (const r of frag) expect(etcdserverpb.WatchResponse.encode(r).finish().length).toBeLessThan(200 + 120);
  expect(events(frag)).toEqual(events(c.got, 1));
  expect(events(frag)).toHaveLength(4);
});

test('a replaced store (a snapshot install) sends synced watchers back to the store for what they missed', () => {
  setUp();
  const c = client();
  c.session.handle(create('a'));
  apply(() => s.store.put(put('a', '1'))); // 2
  // Writes that reach this node inside a snapshot: no rows are notified.
  s.store.put(put('b', 'x')); // 3
  s.store.put(put('a', '2')); // 4
  s.store.changes.drop();
  hub.resync();
  hub.catchUp();
  apply(() => s.store.put(put('a', '3'))); // 5
  expect(events(c.got)).toEqual(['PUT a@2=1', 'PUT a@4=2', 'PUT a@5=3']);
});

test('live delivery happens off the Ready: after the call, in order, between turns of the event loop', async () => {
  setUp();
  const c = client();
  c.session.handle(create('a'));
  for (let i = 0; i < 50; i++) {
    s.store.put(put('a', `${i}`));
    hub.notify(s.store.changes.take());
  }
  expect(events(c.got)).toEqual([]);
  await new Promise((r) => setTimeout(r, 50));
  expect(events(c.got)).toEqual(Array.from({ length: 50 }, (_, i) => `PUT a@${i + 2}=${i}`));
});

test('progress_notify: a synced watcher that got no event since the last tick is told the revision', async () => {
  setUp();
  const c = client({ progressIntervalMs: 40 });
  c.session.handle(create('a', { progressNotify: true }));
  c.session.handle(create('b'));
  apply(() => s.store.put(put('x', '1'))); // 2: no event for either
  await new Promise((r) => setTimeout(r, 120));
  const progress = c.got.filter((r) => !r.created && r.events.length === 0);
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.every((r) => r.watchId === 0 && r.header!.revision === 2 && !r.canceled)).toBe(true);
});

test('watchers of one range catching up from different revisions share each store read and get exactly their events', () => {
  setUp({ batchRows: 4 });
  let reads = 0;
  const history = s.store.history.bind(s.store);
  s.store.history = (...a: Parameters<typeof history>) => {
    reads++;
    return history(...a);
  };
  for (let i = 0; i < 10; i++) apply(() => s.store.put(put(`k${i % 3}`, `${i}`))); // 2..11
  const c = client();
  c.session.handle(create('k', { prefix: true, startRevision: 2, watchId: 1 }));
  c.session.handle(
    create('k', { prefix: true, startRevision: 7, watchId: 2, filters: [etcdserverpb.WatchCreateRequest_FilterType.NOPUT] }),
  );
  c.session.handle(create('k', { prefix: true, startRevision: 9, watchId: 3 }));
  while (hub.catchUp());
  const all = Array.from({ length: 10 }, (_, i) => `PUT k${i % 3}@${i + 2}=${i}`);
  expect(events(c.got, 1)).toEqual(all);
  expect(events(c.got, 2)).toEqual([]);
  expect(events(c.got, 3)).toEqual(all.slice(7));
  // Batches of 4 rows less a partial last revision: 2-4, 5-7, 8-10, 11 for all three (each alone: 4 + 2 + 1).
  expect(reads).toBe(4);
});
