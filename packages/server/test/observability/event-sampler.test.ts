import { WatchEventKind as K } from '@raftkv/proto';
import { EventSampler } from '../../src/observability/event-sampler.js';
import { entries, msg, ready } from './fixtures.js';

const opts = { coalesceMs: 100, heartbeatEveryMs: 250, maxBuffered: 100 };

describe('EventSampler', () => {
  test('keeps votes and transitions one by one, in order', () => {
    const s = new EventSampler('n1', opts);
    s.observe(
      ready({
        events: [
          { kind: 'became-candidate', term: 3 },
          { kind: 'term-changed', from: 2, to: 3, cause: '' },
        ],
        messages: [msg('vote', 'n2', { term: 3 }), msg('pre-vote', 'n3', { term: 3 })],
      }),
      1000,
    );
    s.observe(ready({ events: [{ kind: 'became-leader', term: 3 }], messages: [msg('vote-response', 'n2', { reject: true })] }), 1001);
    const { events, dropped } = s.drain(1002);
    expect(dropped).toBe(0);
    expect(events.map((e) => e.kind)).toEqual([
      K.WATCH_EVENT_KIND_BECAME_CANDIDATE,
      K.WATCH_EVENT_KIND_TERM_CHANGED,
      K.WATCH_EVENT_KIND_VOTE_REQUEST,
      K.WATCH_EVENT_KIND_VOTE_REQUEST,
      K.WATCH_EVENT_KIND_BECAME_LEADER,
      K.WATCH_EVENT_KIND_VOTE_RESPONSE,
    ]);
    expect(events[2]).toMatchObject({ from: 'n1', to: 'n2', term: 3, preVote: false, count: 1 });
    expect(events[3]).toMatchObject({ to: 'n3', preVote: true });
    expect(events[5]).toMatchObject({ reject: true });
    expect(s.drain(1003).events).toEqual([]);
  });

  test('heartbeats to one peer: the first goes out at once, the rest of the interval merges into one', () => {
    const s = new EventSampler('n1', opts);
    for (let t = 0; t < 250; t += 50) s.observe(ready({ messages: [msg('heartbeat', 'n2')] }), t);
    let d = s.drain(200);
    expect(d.events).toHaveLength(1);
    expect(d.events[0]).toMatchObject({ kind: K.WATCH_EVENT_KIND_HEARTBEAT, to: 'n2', count: 1, atMs: 0 });
    d = s.drain(250); // the interval has passed: the merged event of the other four
    expect(d.events).toHaveLength(1);
    expect(d.events[0]).toMatchObject({ kind: K.WATCH_EVENT_KIND_HEARTBEAT, count: 4, atMs: 50 });
    expect(s.drain(600).events).toHaveLength(0);
    // A quiet stream emits the next one at once again.
    s.observe(ready({ messages: [msg('heartbeat', 'n2')] }), 700);
    expect(s.drain(700).events).toHaveLength(1);
  });

  test('appends merge per peer: entries add up, the index is the latest', () => {
    const s = new EventSampler('n1', opts);
    s.observe(
      ready({
        messages: [msg('append', 'n2', { index: 0, entries: entries(1, 3) }), msg('append', 'n3', { index: 0, entries: entries(1, 3) })],
      }),
      0,
    );
    s.observe(ready({ messages: [msg('append', 'n2', { index: 3, entries: entries(4, 5) })] }), 10);
    s.observe(ready({ messages: [msg('append', 'n2', { index: 8, entries: entries(9, 2) })] }), 20);
    const first = s.drain(30).events;
    expect(first.map((e) => [e.to, e.entries, e.index, e.count])).toEqual([
      ['n2', 3, 3, 1],
      ['n3', 3, 3, 1],
    ]);
    const merged = s.drain(100).events;
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ kind: K.WATCH_EVENT_KIND_APPEND, to: 'n2', entries: 7, index: 10, count: 2 });
  });

  test('rejected append responses are a stream of their own', () => {
    const s = new EventSampler('n2', opts);
    s.observe(ready({ messages: [msg('append-response', 'n1', { index: 5 })] }), 0);
    s.observe(ready({ messages: [msg('append-response', 'n1', { index: 3, reject: true })] }), 1);
    const ev = s.drain(2).events;
    expect(ev.map((e) => e.reject)).toEqual([false, true]);
  });

  test('commit advances are coalesced; the first hard state is only a baseline', () => {
    const s = new EventSampler('n1', opts);
    s.observe(ready({ hardState: { term: 2, vote: 'n1', commit: 5 } }), 0);
    expect(s.drain(0).events).toEqual([]);
    s.observe(ready({ hardState: { term: 2, vote: 'n1', commit: 6 } }), 10);
    s.observe(ready({ hardState: { term: 2, vote: 'n1', commit: 9 } }), 20);
    s.observe(ready({ hardState: { term: 2, vote: 'n1', commit: 9 } }), 30); // no advance: nothing
    expect(s.drain(40).events.map((e) => e.index)).toEqual([6]);
    expect(s.drain(110).events.map((e) => [e.index, e.count])).toEqual([[9, 1]]);
  });

  test('the buffer is bounded: the oldest events go and are counted', () => {
    const s = new EventSampler('n1', { ...opts, maxBuffered: 5 });
    for (let i = 0; i < 8; i++) s.observe(ready({ messages: [msg('vote', `p${i}`)] }), i);
    const { events, dropped } = s.drain(10);
    expect(dropped).toBe(3);
    expect(events.map((e) => e.to)).toEqual(['p3', 'p4', 'p5', 'p6', 'p7']);
    expect(s.drain(11).dropped).toBe(0);
  });

  test('maps step-down, vote grants, transfers and truncation; ignores dropped messages', () => {
    const s = new EventSampler('n1', opts);
    s.observe(
      ready({
        events: [
          { kind: 'step-down', term: 4, reason: 'no quorum' },
          { kind: 'vote-granted', term: 5, to: 'n3' },
          { kind: 'transfer-started', term: 5, to: 'n2' },
          { kind: 'log-truncated', fromIndex: 7 },
          { kind: 'message-dropped', from: 'x', reason: 'stale' },
        ],
      }),
      0,
    );
    const ev = s.drain(0).events;
    expect(ev.map((e) => e.kind)).toEqual([
      K.WATCH_EVENT_KIND_STEP_DOWN,
      K.WATCH_EVENT_KIND_VOTE_GRANTED,
      K.WATCH_EVENT_KIND_TRANSFER,
      K.WATCH_EVENT_KIND_LOG_TRUNCATED,
    ]);
    expect(ev[0]!.detail).toBe('no quorum');
    expect(ev[1]!.to).toBe('n3');
    expect(ev[3]!.index).toBe(7);
  });
});
