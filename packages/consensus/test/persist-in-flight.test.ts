// RaftNode.takeMessagesBeforePersist: while a Ready is being written (between ready() and advance()),
// what promises nothing about the disk still leaves — a leader's heartbeats and ReadIndex rounds, a
// follower's heartbeat responses — so a slow fsync does not silence a leader past an election timeout.
import { message } from '../src/message.js';
import type { RaftNode } from '../src/index.js';
import { TestCluster } from './harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function elect(): { c: TestCluster; leader: string; followers: string[] } {
  const c = new TestCluster(['n1', 'n2', 'n3']);
  c.run(400);
  const leader = c.leader()!.id;
  return { c, leader, followers: ['n1', 'n2', 'n3'].filter((id) => id !== leader) };
}

/**
 * Ticks leader `l` at each of its deadlines for `ms` while its write is under way, taking what may leave
 * early; each follower answers every heartbeat at once. Returns what left.
 */
function tickWhileWriting(l: RaftNode, from: number, ms: number): { type: string; to: string }[] {
  const out: { type: string; to: string }[] = [];
  let now = from;
  while (now < from + ms) {
    now = Math.min(from + ms, Math.max(now + 1, l.nextDeadline()));
    l.tick(now);
    for (const m of l.takeMessagesBeforePersist()) {
      out.push({ type: m.type, to: m.to });
      if (m.type === 'heartbeat') l.step(message(m.to, { type: 'heartbeat-response', to: m.from, term: m.term, context: m.context }));
    }
  }
  return out;
}

describe('takeMessagesBeforePersist', () => {
  test('a leader whose write takes longer than an election timeout keeps sending heartbeats and stays leader', () => {
    const { c, leader, followers } = elect();
    const l = c.get(leader).node;
    while (l.hasReady()) l.advance(l.ready());
    l.propose([enc('x')]);
    const rd = l.ready(); // its write now takes 400 ms (longer than any election timeout)
    expect(rd.entries).toHaveLength(1);
    const early = tickWhileWriting(l, c.now, 400);
    const heartbeats = early.filter((m) => m.type === 'heartbeat');
    expect(new Set(heartbeats.map((m) => m.to))).toEqual(new Set(followers));
    expect(heartbeats.length).toBeGreaterThanOrEqual(2 * followers.length);
    expect(early.every((m) => m.type === 'heartbeat' || m.type === 'append')).toBe(true);
    expect(l.status().role).toBe('leader');
    expect(l.status().commit).toBeLessThan(rd.entries[0]!.index); // no follower acknowledged it yet
  });

  test('the heartbeats keep the followers from campaigning, and their answers leave during their own slow writes', () => {
    const { c, leader, followers } = elect();
    const l = c.get(leader).node;
    const term = l.status().term;
    while (l.hasReady()) l.advance(l.ready());
    const f = c.get(followers[0]!).node;
    while (f.hasReady()) f.advance(f.ready());
    // The follower takes an append, and its write of it is slow too.
    f.step(message(leader, { type: 'append', to: f.status().id, term, index: f.status().lastIndex, logTerm: term, entries: [] }));
    f.ready();
    let now = c.now;
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) {
      now += 50;
      f.tick(now);
      f.step(message(leader, { type: 'heartbeat', to: f.status().id, term, commit: f.status().commit }));
      answers.push(...f.takeMessagesBeforePersist().map((m) => m.type));
    }
    expect(f.status().role).toBe('follower');
    expect(answers).toEqual(Array(8).fill('heartbeat-response'));
  });

  test("a proposal made during the leader's write goes to replicating followers at once, so they write in parallel", () => {
    const { c, leader, followers } = elect();
    const l = c.get(leader).node;
    while (l.hasReady()) l.advance(l.ready());
    l.propose([enc('x')]);
    const rd = l.ready();
    l.propose([enc('y')]);
    const early = l.takeMessagesBeforePersist();
    const appends = early.filter((m) => m.type === 'append');
    expect(appends.map((m) => m.to).sort()).toEqual([...followers].sort());
    for (const m of appends) expect(m.entries.map((e) => e.index)).toContain(rd.entries[0]!.index + 1);
    l.advance(rd);
    expect(l.ready().entries.map((e) => e.index)).toEqual([rd.entries[0]!.index + 1]); // written in the next Ready
  });

  test('appends wait for the next Ready while a follower is to be probed (a probe, or a snapshot, is made then)', () => {
    const { c, leader, followers } = elect();
    const l = c.get(leader).node;
    while (l.hasReady()) l.advance(l.ready());
    l.propose([enc('x')]);
    l.ready();
    // A follower's heartbeat answer while it lacks the new entry asks for a probe.
    l.step(message(followers[0]!, { type: 'heartbeat-response', to: leader, term: l.status().term }));
    l.propose([enc('y')]);
    expect(l.takeMessagesBeforePersist().filter((m) => m.type === 'append')).toEqual([]);
  });

  test('a ReadIndex round leaves at once', () => {
    const { c, leader } = elect();
    const l = c.get(leader).node;
    while (l.hasReady()) l.advance(l.ready());
    l.propose([enc('x')]);
    l.ready();
    l.readIndex(1);
    const early = l.takeMessagesBeforePersist();
    expect(early.filter((m) => m.type === 'heartbeat' && m.context !== 0)).toHaveLength(2);
  });

  test('nothing leaves while the term is not yet durable', () => {
    const { c, leader, followers } = elect();
    const f = c.get(followers[0]!).node;
    while (f.hasReady()) f.advance(f.ready());
    const term = f.status().term;
    // A heartbeat of a newer term: the follower adopts it (not yet written) and answers.
    f.step(message(leader, { type: 'heartbeat', to: f.status().id, term: term + 1 }));
    expect(f.status().term).toBe(term + 1);
    expect(f.takeMessagesBeforePersist()).toEqual([]);
    const rd = f.ready();
    expect(rd.hardState?.term).toBe(term + 1);
    expect(rd.messages.map((m) => m.type)).toEqual(['heartbeat-response']);
    f.advance(rd);
    f.step(message(leader, { type: 'heartbeat', to: f.status().id, term: term + 1 }));
    expect(f.takeMessagesBeforePersist().map((m) => m.type)).toEqual(['heartbeat-response']);
  });

  test('a leader holds its early messages while the Ready being written holds messages they would overtake', () => {
    const { c, leader, followers } = elect();
    const l = c.get(leader).node;
    while (l.hasReady()) l.advance(l.ready());
    l.transferLeadership(followers[0]!); // caught up: timeout-now, which waits for the write
    const rd = l.ready();
    expect(rd.messagesBeforePersist).toBe(false);
    expect(rd.messages.some((m) => m.type === 'timeout-now')).toBe(true);
    expect(tickWhileWriting(l, c.now, 100)).toEqual([]);
  });
});
