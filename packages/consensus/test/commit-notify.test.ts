// commitNotifyDelayMs: a leader whose commit index advanced with nothing else to send a follower holds
// the empty append that would carry it for a few ms, so that the next write's append carries it instead.
import type { Message, Ready } from '../src/index.js';
import { TestCluster, type TestNode, type Tuning } from './harness.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Writes a Ready's entries and hard state, then acknowledges it (its committed entries need no state here). */
function persist(n: TestNode, rd: Ready): void {
  n.storage.append(rd.entries);
  if (rd.hardState) n.storage.setHardState(rd.hardState);
  n.node.advance(rd);
}

/** A leader with one entry replicated to both followers and acknowledged, its commit just advanced. */
function committedOne(tuning: Tuning = {}): { c: TestCluster; leader: string; index: number; out: Message[] } {
  const c = new TestCluster(['n1', 'n2', 'n3'], tuning);
  c.run(400);
  const leader = c.leader()!;
  const l = leader.node;
  const { firstIndex: index } = l.propose([enc('x')]);
  const rd = l.ready();
  persist(leader, rd);
  for (const m of rd.messages.filter((x) => x.type === 'append')) {
    const f = c.get(m.to);
    f.node.step(m);
    const frd = f.node.ready();
    persist(f, frd);
    for (const a of frd.messages) l.step(a);
  }
  expect(l.status().commit).toBe(index);
  const out = l.ready().messages.slice();
  return { c, leader: leader.id, index, out };
}

describe('commitNotifyDelayMs', () => {
  test('the commit is held back from followers told nothing else, then sent once the delay has passed', () => {
    const { c, leader, index, out } = committedOne();
    expect(out.filter((m) => m.type === 'append')).toEqual([]);
    const l = c.get(leader).node;
    expect(l.nextDeadline()).toBeLessThanOrEqual(c.now + 5);
    l.tick(l.nextDeadline());
    const appends = l.ready().messages.filter((m) => m.type === 'append');
    expect(appends).toHaveLength(2);
    for (const m of appends) expect([m.entries.length, m.commit]).toEqual([0, index]);
  });

  test("the next write's append carries it: no empty append at all", () => {
    const { c, leader, index, out } = committedOne();
    expect(out).toEqual([]);
    const l = c.get(leader).node;
    l.propose([enc('y')]);
    const appends = l.ready().messages.filter((m) => m.type === 'append');
    expect(appends).toHaveLength(2);
    for (const m of appends) expect([m.entries.length, m.commit]).toEqual([1, index]);
    l.tick(c.now + 5);
    expect(l.ready().messages.filter((m) => m.type === 'append')).toEqual([]);
  });

  test('with 0, followers are told at once (the etcd behaviour)', () => {
    const { index, out } = committedOne({ commitNotifyDelayMs: 0 });
    const appends = out.filter((m) => m.type === 'append');
    expect(appends).toHaveLength(2);
    for (const m of appends) expect([m.entries.length, m.commit]).toEqual([0, index]);
  });
});
