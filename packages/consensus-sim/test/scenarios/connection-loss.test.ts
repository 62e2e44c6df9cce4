// A crashed leader closes its connections, and its followers are told (peerDisconnected): the
// election starts well within the election timeout, and safety holds when that signal comes
// about a leader that is alive, again and again, under load.
import { commitOn, newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('leader connection loss', () => {
  test.each([3, 5])('%i nodes: a crashed leader is replaced within the minimum election timeout, 20 times', (size) => {
    const c = newCluster(size, { seed: 5, crashClosesConnections: true });
    let leader = waitForLeader(c);
    const took: number[] = [];
    for (let round = 0; round < 20; round++) {
      c.runFor(100 + (round % 7) * 13);
      c.crash(leader.id);
      const crashedAt = c.nowMs;
      const next = waitForLeader(c, 3_000);
      took.push(c.nowMs - crashedAt);
      commitOn(c, [next.id]);
      c.restart(leader.id);
      leader = next;
    }
    // Without the signal no follower even campaigns before the minimum election timeout; with it,
    // the first one does within a fraction of it, and the staggered windows avoid split votes.
    expect(Math.max(...took)).toBeLessThan(TIMING.electionTimeoutMinMs / 2);
    c.checker.checkAll();
  });

  test('false alarms about a live leader, one follower at a time, under load: no new term, every write commits', () => {
    const c = newCluster(3, { seed: 9 });
    const leader = waitForLeader(c);
    const term = leader.hardState.term;
    const followers = c.ids.filter((id) => id !== leader.id);
    for (let i = 0; i < 50; i++) {
      c.disconnected(followers[i % 2]!, leader.id);
      const p = c.propose(leader.id);
      waitFor(c, 'commit', () => c.appliedEverywhere(p.key), 1_000);
      c.runFor(17);
    }
    expect(c.leaders()).toEqual([leader]);
    expect(leader.hardState.term).toBe(term);
    c.checker.checkAll();
  });
});
