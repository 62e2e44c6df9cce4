// Message fields a correct peer could not send are dropped before they change anything: a term far
// above ours (the forged heartbeat of term 2^53-1 that would pin every node there for good), a log or
// hint term above the message's own term; a commit past what an append carries is clamped.
import { TERM_LEAD_SLACK, type Message } from '../src/index.js';
import { TestCluster } from './harness.js';

function elected(): TestCluster {
  const c = new TestCluster(['n1', 'n2', 'n3']);
  c.run(500);
  expect(c.leader()).toBeDefined();
  return c;
}

const base = (over: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message => ({
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 0,
  reject: false,
  rejectHint: 0,
  hintTerm: 0,
  context: 0,
  ...over,
});

function dropped(c: TestCluster, id: string, m: Message): string[] {
  const n = c.get(id).node;
  n.step(m);
  const rd = n.ready();
  const reasons = rd.events.flatMap((e) => (e.kind === 'message-dropped' ? [e.reason] : []));
  n.advance(rd);
  return reasons;
}

describe('message bounds', () => {
  test('a heartbeat of term 2^53-1 from the leader id is dropped; the term stays and the cluster works', () => {
    const c = elected();
    const leader = c.leader()!;
    const follower = [...c.nodes.keys()].find((id) => id !== leader.id)!;
    const term = leader.node.status().term;
    const reasons = dropped(
      c,
      follower,
      base({ type: 'heartbeat', from: leader.id, to: follower, term: Number.MAX_SAFE_INTEGER, commit: 5 }),
    );
    expect(reasons.join()).toMatch(/too far above ours/);
    expect(c.get(follower).node.status().term).toBe(term);
    c.put('after');
    for (const n of c.nodes.values()) {
      expect(n.node.status().term).toBe(term);
      expect(n.state).toEqual(['after']);
    }
  });

  test('a term just above ours is followed (a real election); one past the slack is not, until time makes room', () => {
    const c = elected();
    const leader = c.leader()!;
    const follower = [...c.nodes.keys()].find((id) => id !== leader.id)!;
    const term = c.get(follower).node.status().term;
    c.isolated.add(follower);
    expect(
      dropped(c, follower, base({ type: 'heartbeat', from: leader.id, to: follower, term: term + TERM_LEAD_SLACK + 1000 })),
    ).not.toEqual([]);
    expect(c.get(follower).node.status().term).toBe(term);
    // A node away for long: its allowance grows a term per millisecond since its term last changed.
    c.run(2000);
    expect(dropped(c, follower, base({ type: 'heartbeat', from: leader.id, to: follower, term: term + TERM_LEAD_SLACK + 1000 }))).toEqual(
      [],
    );
    expect(c.get(follower).node.status().term).toBe(term + TERM_LEAD_SLACK + 1000);
  });

  test('log and hint terms above the message term are malformed', () => {
    const c = elected();
    const leader = c.leader()!;
    const follower = [...c.nodes.keys()].find((id) => id !== leader.id)!;
    const term = leader.node.status().term;
    expect(dropped(c, follower, base({ type: 'append', from: leader.id, to: follower, term, index: 1, logTerm: term + 1 })).join()).toMatch(
      /log term/,
    );
    expect(
      dropped(
        c,
        leader.id,
        base({ type: 'append-response', from: follower, to: leader.id, term, reject: true, hintTerm: term + 1 }),
      ).join(),
    ).toMatch(/hint term/);
  });

  test("an append's commit past its last entry is clamped to that entry (etcd: min(commit, lastNewIndex))", () => {
    const c = elected();
    const leader = c.leader()!;
    const follower = [...c.nodes.keys()].find((id) => id !== leader.id)!;
    c.isolated.add(follower);
    const term = leader.node.status().term;
    const last = c.get(follower).node.status().commit;
    const lastIndex = c.get(follower).storage.lastIndex();
    const n = c.get(follower).node;
    n.step(base({ type: 'append', from: leader.id, to: follower, term, index: lastIndex, logTerm: term, commit: 1_000_000 }));
    n.advance(n.ready());
    expect(n.status().commit).toBe(Math.max(last, lastIndex));
  });
});
