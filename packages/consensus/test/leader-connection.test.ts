// RaftNode.peerDisconnected (a follower's driver saw its leader's connection close) and nextDeadline
// (when tick() next has work): a lost leader is replaced well within the election timeout; a false
// alarm about a live leader deposes nothing.
import { message } from '../src/message.js';
import type { Message } from '../src/index.js';
import { TestCluster } from './harness.js';

function elect(): { c: TestCluster; leader: string; followers: string[] } {
  const c = new TestCluster(['n1', 'n2', 'n3']);
  c.run(400);
  const leader = c.leader()!.id;
  return { c, leader, followers: ['n1', 'n2', 'n3'].filter((id) => id !== leader) };
}

describe('peerDisconnected', () => {
  test("the leader's connection lost: a new leader well within the minimum election timeout", () => {
    const { c, leader, followers } = elect();
    const term = c.get(leader).node.status().term;
    c.isolated.add(leader); // crashed
    for (const f of followers) c.get(f).node.peerDisconnected(leader);
    c.run(80);
    const next = c.leader();
    expect(next).toBeDefined();
    expect(next!.id).not.toBe(leader);
    // One campaign, no split vote: the other survivor granted its PreVote and stood back.
    expect(next!.node.status().term).toBe(term + 1);
    c.run(400);
    expect(c.leader()?.id).toBe(next!.id);
    expect(next!.node.status().term).toBe(term + 1);
  });

  test('two survivors that campaign early at the same moment do not split the vote', () => {
    const { c, leader, followers } = elect();
    const term = c.get(leader).node.status().term;
    c.isolated.add(leader);
    for (const f of followers) c.get(f).node.peerDisconnected(leader);
    for (const f of followers) c.get(f).node.campaign(); // both PreVote at once
    c.pump();
    const next = c.leader();
    expect(next?.id).toBe([...followers].sort()[0]); // the lower id is granted, the other stands back
    expect(next!.node.status().term).toBe(term + 1);
  });

  test('without the signal, a crashed leader is replaced only after an election timeout', () => {
    const { c, leader } = elect();
    c.isolated.add(leader);
    c.run(140); // below the minimum election timeout (150 ms)
    expect(c.leader()).toBeUndefined();
    c.run(400);
    expect(c.leader()).toBeDefined();
  });

  test('a false alarm about a live leader deposes nothing (PreVote, and the others keep its lease)', () => {
    const { c, leader, followers } = elect();
    const term = c.get(leader).node.status().term;
    c.get(followers[0]!).node.peerDisconnected(leader);
    expect(c.get(followers[0]!).node.status().leaderId).toBe('');
    c.run(600);
    expect(c.leader()?.id).toBe(leader);
    for (const n of c.nodes.values()) {
      expect(n.node.status().term).toBe(term);
      expect(n.node.status().leaderId).toBe(leader);
    }
  });

  test("another peer's connection, or a leader's own view of a follower, changes nothing", () => {
    const { c, leader, followers } = elect();
    const [f1, f2] = [c.get(followers[0]!).node, c.get(followers[1]!).node];
    const due = f1.nextDeadline();
    f1.peerDisconnected(followers[1]!);
    expect(f1.nextDeadline()).toBe(due);
    expect(f1.status().leaderId).toBe(leader);
    const l = c.get(leader).node;
    const leaderDue = l.nextDeadline();
    l.peerDisconnected(followers[0]!);
    expect(l.nextDeadline()).toBe(leaderDue);
    expect(l.status().role).toBe('leader');
    expect(f2.status().leaderId).toBe(leader);
  });
});

describe('nextDeadline', () => {
  test("a follower's is its election deadline: nothing happens before it, a campaign at it", () => {
    const { c, leader, followers } = elect();
    c.isolated.add(leader);
    const f = c.get(followers[0]!).node;
    const due = f.nextDeadline();
    expect(due).toBeGreaterThan(c.now);
    f.tick(due - 1);
    expect(f.status().role).toBe('follower');
    f.tick(due);
    expect(f.status().role).toBe('pre-candidate');
  });

  test("a leader's is its next heartbeat at the latest, and ticking then sends one", () => {
    const { c, leader } = elect();
    const l = c.get(leader).node;
    while (l.hasReady()) l.advance(l.ready());
    const due = l.nextDeadline();
    expect(due).toBeGreaterThan(c.now);
    expect(due).toBeLessThanOrEqual(c.now + 50);
    l.tick(due - 1);
    expect(l.hasReady()).toBe(false);
    // Catch up on whatever falls due first (a heartbeat or a CheckQuorum round) until a heartbeat goes out.
    let sent = false;
    for (let i = 0; i < 3 && !sent; i++) {
      l.tick(l.nextDeadline());
      if (l.hasReady()) sent = l.ready().messages.some((m) => m.type === 'heartbeat');
    }
    expect(sent).toBe(true);
  });
});

describe('observe', () => {
  /** A follower whose own event loop stalled past its election timeout, and the heartbeat that waited in its socket. */
  function stalled(): { c: TestCluster; leader: string; follower: string; heartbeat: Message; late: number } {
    const { c, leader, followers } = elect();
    const follower = followers[0]!;
    const term = c.get(leader).node.status().term;
    const heartbeat: Message = message(leader, { type: 'heartbeat', to: follower, term });
    return { c, leader, follower, heartbeat, late: c.now + 1000 };
  }

  test('a stalled follower that hears the waiting heartbeat before its overdue tick keeps its leader', () => {
    const { c, leader, follower, heartbeat, late } = stalled();
    const f = c.get(follower).node;
    f.observe(late);
    f.step(heartbeat);
    f.tick(late);
    expect([f.status().role, f.status().leaderId]).toEqual(['follower', leader]);
    expect(f.nextDeadline()).toBeGreaterThan(late);
  });

  test('ticking first (the overdue deadline before the waiting heartbeat) campaigns', () => {
    const { c, follower, heartbeat, late } = stalled();
    const f = c.get(follower).node;
    f.tick(late);
    expect(f.status().role).toBe('pre-candidate');
    f.step(heartbeat); // the leader's heartbeat of the same term brings it back, but PreVotes went out
    expect(f.status().role).toBe('follower');
  });
});
