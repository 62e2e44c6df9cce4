import { Role, WatchEventKind as K, type StatusResponse, type WatchStatusResponse } from '@raftkv/proto';
import { WatchHub, type HubOptions, type WatchSink } from '../../src/observability/watch-hub.js';
import { msg, ready } from './fixtures.js';

/** A node whose status the test edits, a fake clock, and a timer the test fires by hand. */
function setup(over: Partial<HubOptions> = {}) {
  const clock = { now: 0 };
  const status: StatusResponse = {
    id: 'n1',
    version: '0.3.0',
    schemaVersion: 3,
    peerProtocolVersion: 2,
    clusterVersion: '0.3.0',
    role: Role.ROLE_LEADER,
    term: 2,
    leaderId: 'n1',
    commitIndex: 1,
    appliedIndex: 1,
    lastLogIndex: 1,
    members: [],
  };
  const timers = new Set<() => void>();
  let tailReads = 0;
  const hub = new WatchHub(
    'n1',
    {
      status: () => ({ ...status }),
      detail: () => ({ electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatMs: 50, followers: [] }),
      logTail: (n) => {
        tailReads++;
        return Array.from({ length: Math.min(n, status.lastLogIndex) }, (_, i) => ({
          index: status.lastLogIndex - Math.min(n, status.lastLogIndex) + 1 + i,
          term: 2,
          op: 'put',
          key: 'k',
        }));
      },
    },
    {
      monoNow: () => clock.now,
      wallNow: () => 1_000_000 + clock.now,
      every: (_ms, fn) => {
        timers.add(fn);
        return () => timers.delete(fn);
      },
      ...over,
    },
  );
  const advance = (ms: number): void => {
    clock.now += ms;
    for (const f of [...timers]) f();
  };
  return { hub, status, clock, advance, timers, tailReads: () => tailReads };
}

function sink(accept = () => true) {
  const got: WatchStatusResponse[] = [];
  const dropped: string[] = [];
  const s: WatchSink = {
    write: (m) => {
      got.push(m);
      return accept();
    },
    drop: (r) => dropped.push(r),
  };
  return { s, got, dropped };
}

const req = (o: Partial<{ maxUpdatesPerSecond: number; includeEvents: boolean; logTail: number }> = {}) => ({
  maxUpdatesPerSecond: 0,
  includeEvents: false,
  logTail: 0,
  ...o,
});

describe('WatchHub', () => {
  test('a new watcher gets the current status at once, with the log tail it asked for (capped)', () => {
    const { hub, status } = setup({ maxLogTail: 4 });
    status.lastLogIndex = 10;
    const w = sink();
    hub.subscribe(req({ logTail: 100 }), w.s);
    expect(w.got).toHaveLength(1);
    expect(w.got[0]!.status).toMatchObject({ id: 'n1', role: Role.ROLE_LEADER, term: 2 });
    expect(w.got[0]!.detail!.logTail.map((e) => e.index)).toEqual([7, 8, 9, 10]);
    expect(w.got[0]!.sentAtMs).toBe(1_000_000);
  });

  test('sends only on change, at most at the requested rate, and keeps quiet watchers alive', () => {
    const { hub, status, advance } = setup({ keepaliveMs: 1000 });
    const w = sink();
    hub.subscribe(req({ maxUpdatesPerSecond: 10 }), w.s); // at most one every 100 ms
    status.commitIndex = 2;
    advance(50); // not due yet
    expect(w.got).toHaveLength(1);
    status.commitIndex = 3;
    advance(50);
    expect(w.got).toHaveLength(2); // both changes coalesced into one update
    expect(w.got[1]!.status!.commitIndex).toBe(3);
    for (let i = 0; i < 9; i++) advance(100);
    expect(w.got).toHaveLength(2);
    advance(100); // a second without news: a keepalive without status
    expect(w.got).toHaveLength(3);
    expect(w.got[2]!.status).toBeUndefined();
  });

  test('a role change goes out at once, even before the watcher is due', async () => {
    const { hub, status, advance, clock } = setup();
    const w = sink();
    hub.subscribe(req({ maxUpdatesPerSecond: 1 }), w.s);
    advance(900);
    clock.now += 30;
    status.role = Role.ROLE_FOLLOWER;
    status.leaderId = 'n2';
    hub.readyHandled(ready({ softState: { role: 'follower', leaderId: 'n2' } }));
    await new Promise((r) => setImmediate(r));
    expect(w.got).toHaveLength(2);
    expect(w.got[1]!.status).toMatchObject({ role: Role.ROLE_FOLLOWER, leaderId: 'n2' });
  });

  test('events only for watchers that asked; costs nothing without watchers', () => {
    const { hub, advance, timers } = setup();
    hub.readyHandled(ready({ messages: [msg('vote', 'n2')] })); // nobody watches: not kept
    const plain = sink();
    const feed = sink();
    const a = hub.subscribe(req(), plain.s);
    const b = hub.subscribe(req({ includeEvents: true }), feed.s);
    hub.readyHandled(ready({ messages: [msg('heartbeat', 'n2'), msg('vote', 'n3')] }));
    advance(50);
    expect(feed.got).toHaveLength(2);
    expect(feed.got[1]!.events.map((e) => e.kind)).toEqual([K.WATCH_EVENT_KIND_HEARTBEAT, K.WATCH_EVENT_KIND_VOTE_REQUEST]);
    expect(plain.got).toHaveLength(1);
    a.close();
    b.close();
    expect(hub.subscriberCount).toBe(0);
    expect(timers.size).toBe(0);
  });

  test("a watcher's event queue is bounded and drops are reported", () => {
    const { hub, advance } = setup({ maxQueuedEvents: 3, sampler: { coalesceMs: 100, heartbeatEveryMs: 100, maxBuffered: 1000 } });
    const w = sink();
    hub.subscribe(req({ includeEvents: true, maxUpdatesPerSecond: 1 }), w.s);
    for (let i = 0; i < 5; i++) {
      hub.readyHandled(ready({ messages: [msg('vote', `p${i}`)] }));
      advance(100); // the hub moves events into the queue each tick; the watcher is due once a second
    }
    advance(500);
    const last = w.got[w.got.length - 1]!;
    expect(last.events.map((e) => e.to)).toEqual(['p2', 'p3', 'p4']);
    expect(last.eventsDropped).toBe(2);
  });

  test('a blocked watcher gets nothing until it drains, and is dropped if it stays blocked', () => {
    const { hub, status, advance } = setup({ slowClientMs: 1000 });
    let open = false;
    const w = sink(() => open);
    const sub = hub.subscribe(req(), w.s); // the first write already reports a full buffer
    status.commitIndex = 5;
    advance(500);
    expect(w.got).toHaveLength(1);
    open = true;
    sub.drained();
    advance(100);
    expect(w.got).toHaveLength(2);
    open = false;
    status.commitIndex = 6;
    advance(100); // written, buffer full again
    expect(w.got).toHaveLength(3);
    status.commitIndex = 7;
    advance(500);
    expect(w.got).toHaveLength(3);
    expect(w.dropped).toEqual([]);
    advance(600);
    expect(w.dropped).toHaveLength(1);
    expect(hub.subscriberCount).toBe(0);
  });

  test('the election timer: time since the last message from a leader; 0 on a leader', () => {
    const { hub, advance, clock } = setup({ keepaliveMs: 100 });
    hub.readyHandled(ready({ softState: { role: 'follower', leaderId: 'n2' } }));
    const w = sink();
    hub.subscribe(req({ maxUpdatesPerSecond: 10 }), w.s);
    advance(100);
    expect(w.got[w.got.length - 1]!.sinceLeaderContactMs).toBe(100);
    hub.messageReceived(msg('heartbeat', 'n1', { from: 'n2' }));
    clock.now += 30;
    advance(100);
    expect(w.got[w.got.length - 1]!.sinceLeaderContactMs).toBe(130);
    hub.readyHandled(ready({ softState: { role: 'leader', leaderId: 'n1' } }));
    advance(100);
    expect(w.got[w.got.length - 1]!.sinceLeaderContactMs).toBe(0);
  });

  test('a new watcher with events gets the recent transitions first, each event once', () => {
    const { hub, advance } = setup({ historySize: 3 });
    hub.readyHandled(
      ready({
        events: [
          { kind: 'became-candidate', term: 2 },
          { kind: 'became-leader', term: 2 },
        ],
      }),
    ); // unwatched: remembered anyway
    const a = sink();
    hub.subscribe(req({ includeEvents: true }), a.s);
    expect(a.got[0]!.events.map((e) => e.kind)).toEqual([K.WATCH_EVENT_KIND_BECAME_CANDIDATE, K.WATCH_EVENT_KIND_BECAME_LEADER]);
    hub.readyHandled(
      ready({
        events: [
          { kind: 'step-down', term: 2, reason: 'x' },
          { kind: 'became-follower', term: 3, leaderId: '' },
        ],
      }),
    );
    const b = sink();
    hub.subscribe(req({ includeEvents: true }), b.s); // history is bounded: the oldest went
    expect(b.got[0]!.events.map((e) => e.kind)).toEqual([
      K.WATCH_EVENT_KIND_BECAME_LEADER,
      K.WATCH_EVENT_KIND_STEP_DOWN,
      K.WATCH_EVENT_KIND_BECAME_FOLLOWER,
    ]);
    advance(50);
    // The transitions that happened while `a` watched reach it live; `b` does not get them twice.
    expect(a.got.flatMap((m) => m.events).map((e) => e.kind)).toEqual([
      K.WATCH_EVENT_KIND_BECAME_CANDIDATE,
      K.WATCH_EVENT_KIND_BECAME_LEADER,
      K.WATCH_EVENT_KIND_STEP_DOWN,
      K.WATCH_EVENT_KIND_BECAME_FOLLOWER,
    ]);
    expect(b.got.flatMap((m) => m.events)).toHaveLength(3);
  });

  test('one status build and one log read per tick, however many watchers', () => {
    const { hub, status, advance, tailReads } = setup();
    const ws = Array.from({ length: 5 }, () => sink());
    for (const w of ws) hub.subscribe(req({ logTail: 8 }), w.s);
    const before = tailReads();
    status.lastLogIndex = 2;
    advance(50);
    expect(tailReads() - before).toBe(1);
    for (const w of ws) expect(w.got[w.got.length - 1]!.detail!.logTail.map((e) => e.index)).toEqual([1, 2]);
  });
});
