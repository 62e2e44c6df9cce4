// The Ready contract's relaxations, made to happen on purpose: input stepped into the core while a
// Ready is being written (a storage thread), and a leader's appends sent before its own write.
import { overtakenWrite } from './overtaken-write.js';
import { commitCommands, elect, logsMatch, MANUAL_ELECTIONS, newCluster, waitFor } from './support.js';

const ASYNC = { asyncPersist: true, fastMaxMs: 0 } as const;

describe('input between ready() and advance()', () => {
  test("a new leader's entries replace, in memory, the entries a follower is still writing", () => {
    const { c, x } = overtakenWrite();
    expect(c.node('n3').storage.term(x.index)).toBe(2);
    expect(logsMatch(c, ['n2', 'n3', 'n4', 'n5'])).toBe(true);
    expect(c.checker.committedIndexOf(x.key)).toBeUndefined();
    expect(c.relaxations.inputsDuringWrite).toBeGreaterThan(0);
  });

  test('a leader that crashes while writing, after its appends left early, keeps or loses the write whole', () => {
    for (const keepOnCrash of [0, 1]) {
      const c = newCluster(3, { seed: 42, raft: MANUAL_ELECTIONS, earlySend: true, disk: { ...ASYNC, keepOnCrash } });
      const leader = elect(c, 'n1');
      commitCommands(c, 2);
      leader.disk!.writeMs = 30;
      const p = c.propose('n1');
      waitFor(
        c,
        'the followers to store the entry the leader is still writing',
        () => ['n2', 'n3'].every((id) => c.node(id).storage.lastIndex() >= p.index),
        20,
      );
      expect(leader.persisting).toBe(true);
      expect(leader.storage.lastIndex()).toBeLessThan(p.index);
      c.crash('n1');
      expect(leader.storage.lastIndex() >= p.index).toBe(keepOnCrash === 1);
      expect(c.relaxations[keepOnCrash === 1 ? 'crashKeptWrite' : 'crashLostWrite']).toBe(1);
      leader.disk!.writeMs = null;
      c.restart('n1');
      elect(c, 'n2');
      waitFor(c, 'the entry to be applied everywhere', () => c.appliedEverywhere(p.key), 1_000);
      expect(logsMatch(c)).toBe(true);
    }
  });

  // Regression (found by the simulator, seed 2771): a leader alone with a slow disk sends its appends
  // early, carrying a commit index its own write has not stored yet. A learner that joined empty
  // stored that commit first, knowing no membership yet; the checker took the learner's (empty)
  // membership for the one that decided the commit. It was the leader's.
  test("a learner may store a commit before the leader's write of it completes", () => {
    const c = newCluster(2, { seed: 44, voters: 1, raft: MANUAL_ELECTIONS, earlySend: true, disk: ASYNC });
    const n1 = elect(c, 'n1');
    waitFor(c, "n1's no-op to apply", () => n1.applied === 1, 100);
    const n2 = c.node('n2');
    n1.disk!.writeMs = 20;
    c.proposeConfChange('n1', { type: 'add-learner', nodeId: 'n2' });
    // n2 knows no membership until it applies the add-learner entry, after storing its first commit.
    let firstCommit: { learner: number; leader: number } | undefined;
    const keys: string[] = [];
    for (let i = 0; i < 20; i++) {
      keys.push(c.propose('n1').key);
      c.runUntil(() => {
        if (firstCommit === undefined && n2.hardState.commit > 0)
          firstCommit = { learner: n2.hardState.commit, leader: n1.hardState.commit };
        return false;
      }, 7);
    }
    waitFor(c, 'the learner to apply every command', () => keys.every((k) => c.appliedEverywhere(k)), 1_000);
    expect(firstCommit!.learner).toBeGreaterThan(firstCommit!.leader);
    expect(n2.conf).toEqual({ voters: ['n1'], learners: ['n2'] });
    expect(logsMatch(c)).toBe(true);
  });

  // Regression (found by the simulator, seed 2650): a torn crash armed on a node set to strike in
  // the middle of its write; the heal disarmed it (ending every fault and restarting the down nodes)
  // but the strike still came, after the restarts, and nothing restarted the node: no liveness.
  test('a torn crash disarmed while its write is under way does not strike', () => {
    const c = newCluster(3, { seed: 43, raft: MANUAL_ELECTIONS, disk: { ...ASYNC, keepOnCrash: 1 } });
    elect(c, 'n1');
    commitCommands(c, 1);
    const n2 = c.node('n2');
    n2.disk!.writeMs = 30;
    n2.disk!.tornCrashStrikesMidWrite = () => true;
    n2.disk!.crashPointMs = (latencyMs) => latencyMs - 1;
    n2.tornCrashPending = true;
    const p = c.propose('n1');
    waitFor(c, 'n2 to start writing the entry', () => n2.persisting, 20);
    n2.tornCrashPending = false; // as the heal does
    c.runFor(40);
    expect(n2.up).toBe(true);
    expect(c.relaxations.crashKeptWrite + c.relaxations.crashLostWrite).toBe(0);
    waitFor(c, 'the entry to be applied everywhere', () => c.appliedEverywhere(p.key), 500);
    // Armed and left armed, the same strike does come: the test exercises the mid-write path.
    n2.tornCrashPending = true;
    c.propose('n1');
    waitFor(c, 'n2 to crash mid-write', () => !n2.up, 40);
    expect(c.relaxations.crashKeptWrite).toBe(1);
  });
});
