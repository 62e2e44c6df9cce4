// Restarts (§5.1, Figure 2 "persistent state on all servers"): a node keeps exactly what it persisted.
import { commitCommands, logsMatch, newCluster, waitFor, waitForLeader } from './support.js';

describe('restart with persisted state', () => {
  test('a whole-cluster restart keeps the log, term and votes; applied state is rebuilt by replay', () => {
    const c = newCluster(3, { seed: 31 });
    const keys = commitCommands(c, 20);
    c.runFor(200);
    const before = c.nodes.map((n) => ({ log: c.logOf(n.id), hs: n.hardState }));
    for (const n of c.nodes) c.crash(n.id);
    c.runFor(1_000);
    for (const n of c.nodes) c.restart(n.id);
    c.nodes.forEach((n, i) => {
      expect(c.logOf(n.id)).toEqual(before[i]!.log);
      expect(n.hardState).toEqual(before[i]!.hs);
      expect(n.raft!.status().term).toBe(before[i]!.hs.term);
    });
    const leader = waitForLeader(c);
    expect(leader.hardState.term).toBeGreaterThan(before[0]!.hs.term);
    // The restarted state machines get every committed entry again, in order (the checker verifies each).
    waitFor(c, 'replay', () => keys.every((k) => c.appliedEverywhere(k)), 1_000);
    commitCommands(c, 1);
    expect(logsMatch(c)).toBe(true);
  });

  // Reference: Figure 2 — votedFor is persistent: one vote per term even across a crash.
  test('a vote survives a restart: no second vote in the same term', () => {
    const c = newCluster(3, { seed: 32, raft: { preVote: false, electionTimeoutMinMs: 1_000_000, electionTimeoutMaxMs: 2_000_000 } });
    c.network.cutOneWay('n1', 'n2');
    c.network.cutOneWay('n3', 'n1'); // n1 never hears n3's grant: no leader in term 1
    c.campaign('n1');
    c.runFor(10);
    expect(c.node('n3').hardState).toMatchObject({ term: 1, vote: 'n1' });
    c.crash('n3');
    c.restart('n3');
    c.heal();
    c.network.cutOneWay('n1', 'n2');
    c.network.cutOneWay('n1', 'n3');
    c.network.cutOneWay('n2', 'n1');
    c.campaign('n2'); // n2 is still in term 0: it asks for term-1 votes
    c.runFor(10);
    expect(c.node('n2').hardState.term).toBe(1);
    expect(c.node('n3').hardState.vote).toBe('n1');
    expect(c.node('n2').role).not.toBe('leader');
  });

  test('a follower that crashes after persisting but before acknowledging keeps the entries', () => {
    const c = newCluster(3, { seed: 33 });
    const leader = waitForLeader(c);
    c.runFor(200);
    const f = c.nodes.find((n) => n !== leader)!;
    f.tornCrashPending = true;
    const p = c.propose(leader.id);
    waitFor(c, 'the torn crash', () => !f.up, 50);
    expect(f.storage.lastIndex()).toBeGreaterThanOrEqual(p.index);
    c.restart(f.id);
    waitFor(c, 'the entry to be applied everywhere', () => c.appliedEverywhere(p.key), 1_000);
    expect(logsMatch(c)).toBe(true);
  });
});
