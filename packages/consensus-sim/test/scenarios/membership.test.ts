// Single-server membership changes (thesis ch. 4) under faults. The membership takes effect when a
// node applies the change, so until a voter learns that a change is committed it still counts the
// old membership — these scenarios are about not getting stuck in that window.
import { newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('membership changes', () => {
  // Regression (found by the simulator, seed 165): a leader that removed itself stepped down at
  // once. The remaining voter had not learned that the removal was committed, so it still needed
  // the removed node's vote — which was refused, the removed node's log being ahead (it had taken
  // proposals after its removal) — and the removed node could not campaign: no leader, ever.
  test.each([false, true])(
    'a leader removing itself hands over even if the others never heard the commit (crash right after: %s)',
    (crash) => {
      const c = newCluster(2, { seed: 91 });
      const leader = waitForLeader(c);
      const other = c.nodes.find((n) => n !== leader)!;
      c.runFor(100);
      const removal = c.proposeConfChange(leader.id, { type: 'remove', nodeId: leader.id });
      // The other voter stores the removal (so it can commit) but hears nothing after it.
      c.network.dropFilter = (m) => m.from === leader.id && other.storage.lastIndex() >= removal.index;
      for (let i = 0; i < 3; i++) c.propose(leader.id);
      waitFor(c, 'the removal to be applied by the old leader', () => !leader.conf.voters.includes(leader.id), 500);
      expect(other.hardState.commit).toBeLessThan(removal.index);
      expect(leader.storage.lastIndex()).toBeGreaterThan(other.storage.lastIndex());
      if (crash) {
        c.crash(leader.id);
        c.restart(leader.id);
      }
      c.runFor(3 * TIMING.electionTimeoutMaxMs);
      c.network.dropFilter = null;

      waitFor(c, 'the remaining voter to lead alone', () => other.role === 'leader' && other.conf.voters.join() === other.id, 3_000);
      const p = c.propose(other.id);
      waitFor(c, 'a commit', () => c.checker.committedIndexOf(p.key) !== undefined, 500);
      c.runFor(5 * TIMING.electionTimeoutMaxMs);
      expect(c.leaders()).toEqual([other]); // the removed node does not come back to disrupt
    },
  );

  // Regression (found by the simulator, seed 428): a node that knew no membership yet (it joined
  // empty) ignored every vote request as coming from a "non-voter". Promoted to voter before it
  // caught up, it was needed for a quorum, so no leader could be elected to tell it the membership.
  test('a voter promoted before it caught up, while down, still lets the cluster elect a leader', () => {
    const c = newCluster(2, { seed: 92, voters: 1 });
    const n1 = waitForLeader(c);
    const n2 = c.node('n2');
    expect(n1.id).toBe('n1');
    c.crash('n2');
    c.runFor(50);
    c.proposeConfChange('n1', { type: 'add-learner', nodeId: 'n2' });
    c.runFor(50);
    c.proposeConfChange('n1', { type: 'add-voter', nodeId: 'n2' });
    waitFor(c, 'n1 to apply the promotion', () => n1.conf.voters.length === 2, 500);
    c.runFor(3 * TIMING.electionTimeoutMaxMs); // CheckQuorum: n1 alone is no longer a majority
    expect(c.leaders()).toEqual([]);
    c.restart('n2'); // comes back empty: it knows no membership at all
    expect(n2.conf.voters).toEqual([]);
    waitForLeader(c, 3_000);
    const p = c.propose(c.leader()!.id);
    waitFor(c, 'the new voter to apply a command', () => c.appliedEverywhere(p.key), 1_000);
    expect([...n2.conf.voters].sort()).toEqual(['n1', 'n2']);
  });

  // Regression (found by the simulator, seed 440): without PreVote and CheckQuorum a node ignored
  // appends from a leader of a lower term without answering. A node removed while partitioned keeps
  // campaigning (bumping its term) and nobody hears it, its vote requests coming from a non-voter;
  // re-added as a learner, it ignored the leader's appends for good. Figure 2: answer with our term.
  test('a re-added learner with a higher term from campaigning alone is still caught up (basic Raft)', () => {
    const c = newCluster(3, { seed: 93, raft: { preVote: false, checkQuorum: false } });
    const leader = waitForLeader(c);
    const loner = c.nodes.find((n) => n !== leader)!;
    c.runFor(100); // the leader's no-op is applied: it may propose membership changes
    c.isolate(loner.id);
    c.proposeConfChange(leader.id, { type: 'remove', nodeId: loner.id });
    waitFor(c, 'the removal to apply', () => leader.conf.voters.length === 2, 500);
    c.runFor(10 * TIMING.electionTimeoutMaxMs);
    expect(loner.hardState.term).toBeGreaterThan(leader.hardState.term);
    c.proposeConfChange(leader.id, { type: 'add-learner', nodeId: loner.id });
    waitFor(c, 'the learner to be added', () => leader.conf.learners.includes(loner.id), 500);
    c.heal();
    const p = c.propose(waitForLeader(c).id);
    waitFor(
      c,
      'the learner to apply a new command',
      () => c.checker.committedIndexOf(p.key) !== undefined && loner.applied >= c.checker.committedIndexOf(p.key)!,
      3_000,
    );
  });
});
