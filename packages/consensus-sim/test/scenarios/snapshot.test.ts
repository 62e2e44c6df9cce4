// Log compaction and InstallSnapshot (§7): a follower that needs entries the leader has compacted
// away gets the leader's snapshot instead, then the log after it.
import { commitCommands, logsMatch, newCluster, waitFor, waitForLeader } from './support.js';

const COMPACT_OFTEN = { every: 5, keepTail: 0 };

describe('snapshots', () => {
  // Reference: §7 — "the leader must occasionally send snapshots to followers that lag behind".
  test('a follower behind the compacted log catches up through a snapshot', () => {
    const c = newCluster(3, { seed: 71, compaction: COMPACT_OFTEN, recordMessages: true });
    const leader = waitForLeader(c);
    const laggard = c.nodes.find((n) => n !== leader)!;
    c.network.isolate(laggard.id);
    const keys = Array.from({ length: 30 }, () => c.propose(leader.id).key);
    waitFor(c, 'the majority to commit', () => keys.every((k) => c.checker.committedIndexOf(k) !== undefined), 1_000);
    expect(leader.storage.firstIndex()).toBeGreaterThan(laggard.storage.lastIndex() + 1);
    c.heal();
    waitFor(c, 'the laggard to catch up', () => keys.every((k) => c.appliedEverywhere(k)), 1_000);
    expect(c.sent.some((m) => m.type === 'snapshot' && m.to === laggard.id)).toBe(true);
    expect(laggard.storage.snapshotMeta().index).toBeGreaterThan(0);
    // It restarts from its snapshot plus the log after it.
    c.crash(laggard.id);
    c.restart(laggard.id);
    commitCommands(c, 3);
    expect(logsMatch(c)).toBe(true);
  });

  // Regression (found by the simulator, seed 44): the leader ignored a successful reportSnapshot and
  // waited in the snapshot state for the follower's answer; when that answer was lost, the follower
  // was never sent anything again.
  test('a follower whose answer to the snapshot is lost is still brought up to date', () => {
    const c = newCluster(3, { seed: 72, compaction: COMPACT_OFTEN });
    const leader = waitForLeader(c);
    const laggard = c.nodes.find((n) => n !== leader)!;
    c.network.isolate(laggard.id);
    for (let i = 0; i < 30; i++) c.propose(leader.id);
    c.runFor(200);
    expect(leader.storage.firstIndex()).toBeGreaterThan(laggard.storage.lastIndex() + 1);
    let lost = 0;
    c.network.dropFilter = (m) =>
      m.from === laggard.id && m.type === 'append-response' && laggard.storage.snapshotMeta().index > 0 && lost++ === 0;
    c.heal();
    waitFor(c, 'the snapshot to be installed', () => laggard.storage.snapshotMeta().index > 0, 500);
    expect(lost).toBe(1);
    const later = commitCommands(c, 3, 2_000);
    expect(later.every((k) => c.appliedEverywhere(k))).toBe(true);
  });
});
