// WatchWire writes exactly the bytes etcdserverpb.WatchResponse.encode writes for the same response,
// shares each event's encoding between watchers, and the Watch service serializes both forms.
import { etcdserverpb, mvccpb } from '@raftkv/proto';
import type { KvRow } from '../../src/storage/mvcc/kv-row.js';
import { isCreate, toEvent } from '../../src/watch/events.js';
import { WATCH_SERVICE, WatchWire } from '../../src/watch/wire.js';

const row = (key: string, main: number, o: Partial<KvRow> = {}): KvRow => ({
  key: Buffer.from(key),
  main,
  sub: 0,
  create_rev: main,
  version: 1,
  lease: 0,
  value: Buffer.from(`v${main}`),
  tombstone: 0,
  ...o,
});

const prevOf = new Map<string, KvRow>([
  ['a', row('a', 3, { value: Buffer.from('old') })],
  ['b', row('b', 4, { value: Buffer.from('gone') })],
]);
let term = 7;
const wire = new WatchWire({
  header: (revision) => ({ clusterId: 2 ** 52 + 3, memberId: 99, revision, raftTerm: term }),
  liveAt: (key) => prevOf.get(key.toString()),
});

const encode = (r: Partial<etcdserverpb.WatchResponse>): Buffer =>
  Buffer.from(etcdserverpb.WatchResponse.encode(etcdserverpb.WatchResponse.fromPartial(r)).finish());

test('the bytes are those of the encoded response: ids of every size, put, delete, prev_kv, none on a create', () => {
  const rows = [
    row('a', 300, { create_rev: 3, version: 2, lease: 2 ** 40 }),
    row('b', 300, { tombstone: 1, value: Buffer.alloc(0) }),
    row('c', 300),
  ];
  const header = { clusterId: 2 ** 52 + 3, memberId: 99, revision: 300, raftTerm: 7 };
  for (const watchId of [0, 1, 127, 128, 300_000, 2 ** 40]) {
    for (const prevKv of [false, true]) {
      const events = rows.map((r) => {
        const e = toEvent(r);
        const prev = prevKv && !isCreate(r) ? prevOf.get(r.key.toString()) : undefined;
        return prev === undefined ? e : { ...e, prevKv: toEvent(prev).kv };
      });
      expect(wire.response(watchId, 300, rows, prevKv)).toEqual(encode({ header, watchId, events }));
    }
  }
  const decoded = etcdserverpb.WatchResponse.decode(wire.response(5, 300, rows, true));
  expect(decoded.events.map((e) => [e.type, e.prevKv?.value.toString()])).toEqual([
    [mvccpb.Event_EventType.PUT, 'old'],
    [mvccpb.Event_EventType.DELETE, 'gone'],
    [mvccpb.Event_EventType.PUT, undefined],
  ]);
});

test('an event is encoded once for every watcher; a new term gives a new header', () => {
  const r = row('x', 400);
  expect(wire.event(r, false)).toBe(wire.event(r, false));
  const first = etcdserverpb.WatchResponse.decode(wire.response(1, 400, [r], false));
  term = 8;
  const second = etcdserverpb.WatchResponse.decode(wire.response(2, 400, [r], false));
  expect([first.header!.raftTerm, second.header!.raftTerm]).toEqual([7, 8]);
});

test('the service serializes encoded bytes as they are and responses by encoding them', () => {
  const bytes = wire.response(1, 400, [row('y', 400)], false);
  expect(WATCH_SERVICE.watch.responseSerialize(bytes)).toBe(bytes);
  const canceled = { watchId: 4, canceled: true, cancelReason: 'x' };
  expect(WATCH_SERVICE.watch.responseSerialize(etcdserverpb.WatchResponse.fromPartial(canceled))).toEqual(encode(canceled));
  expect(WATCH_SERVICE.watch.path).toBe(etcdserverpb.WatchService.watch.path);
});
