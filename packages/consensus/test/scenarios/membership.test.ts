// Single-server membership changes (thesis ch. 4) under faults. The membership takes effect when a
// node applies the change, so until a voter learns that a change is committed it still counts the
// old membership — these scenarios are about not getting stuck in that window.
import { newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('membership changes', () => {
  // Regression (found by the simulator, seed 165): a leader that removed itself stepped down at
  // once. The remaining voter had not learned that the removal was committed, so it still needed
  // the removed node's vote — which was refused, the removed node's log being ahead (it had taken
  // proposals after its removal) — and the removed node could not campaign: no leader, ever.
  test.each([false, true])('a leader removing itself hands over even if the others never heard the commit (crash right after: %s)', (crash) => {
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
  });
});
