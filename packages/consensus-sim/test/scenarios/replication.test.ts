// Log replication (raft-notes "Log Replication Summary", "Log Replication").
import { commitCommands, logsMatch, newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('log replication', () => {
  // Reference: §5.3 — the leader commits once a majority stored the entry and tells followers the
  // commit index in later AppendEntries, heartbeats included.
  test('a proposal commits on a majority and followers learn the commit index from the next heartbeat', () => {
    const c = newCluster(3, { seed: 5 });
    const leader = waitForLeader(c);
    c.runFor(200);
    const p = c.propose(leader.id);
    expect(p.term).toBe(leader.hardState.term);
    waitFor(c, 'the leader to commit', () => leader.hardState.commit >= p.index, 20);
    waitFor(
      c,
      'followers to learn the commit index',
      () => c.nodes.every((n) => n.hardState.commit >= p.index),
      TIMING.heartbeatIntervalMs + 20,
    );
    waitFor(c, 'every node to apply it', () => c.appliedEverywhere(p.key), 10);
    expect(c.checker.committedIndexOf(p.key)).toBe(p.index);
    expect(logsMatch(c)).toBe(true);
  });

  test('with a follower down, a majority still commits; the follower catches up when back', () => {
    const c = newCluster(3, { seed: 6 });
    const leader = waitForLeader(c);
    const follower = c.nodes.find((n) => n !== leader)!;
    c.crash(follower.id);
    const keys = commitCommands(c, 10);
    expect(follower.applied).toBe(0);
    c.restart(follower.id);
    waitFor(c, 'the follower to catch up', () => keys.every((k) => c.appliedEverywhere(k)), 1_000);
    expect(logsMatch(c)).toBe(true);
  });

  // Reference: §5.3 — nextIndex backs up until the logs match, then the follower gets the rest.
  test('a lagging follower catches up from far behind, in bounded messages', () => {
    const c = newCluster(3, { seed: 8, raft: { maxMessageBytes: 256 }, recordMessages: true });
    const leader = waitForLeader(c);
    const laggard = c.nodes.find((n) => n !== leader)!;
    c.network.isolate(laggard.id);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 25; i++) c.propose(leader.id);
      c.runFor(10);
    }
    c.runFor(100);
    const target = leader.storage.lastIndex();
    expect(target).toBeGreaterThan(500);
    expect(laggard.storage.lastIndex()).toBeLessThan(5);
    c.heal();
    const healedAt = c.nowMs;
    waitFor(c, 'the laggard to catch up', () => laggard.applied >= target, 2_000);
    expect(logsMatch(c)).toBe(true);
    // 500 entries of ~10 bytes in 256-byte messages is ~25 appends, pipelined rather than one per round trip.
    const appends = c.sent.filter((m) => m.type === 'append' && m.to === laggard.id && m.entries.length > 0);
    const afterHeal = appends.slice(appends.findIndex((m) => m.entries.some((e) => e.index === 2)));
    expect(afterHeal.length).toBeLessThan(100);
    expect(c.nowMs - healedAt).toBeLessThan(TIMING.heartbeatIntervalMs + 200);
  });

  // Reference: §5.3 (the optimization at the end of the section) — with the conflicting term in
  // the rejection, the leader skips a whole term per round trip instead of one entry.
  test('a follower with a long conflicting suffix is repaired in a few round trips', () => {
    const c = newCluster(5, { seed: 9, recordMessages: true, raft: { checkQuorum: false } });
    const old = waitForLeader(c);
    commitCommands(c, 3);
    c.partition([[old.id], c.ids.filter((id) => id !== old.id)]);
    for (let i = 0; i < 200; i++) c.propose(old.id); // never committed: nobody hears them
    const next = waitForLeader(
      c,
      3_000,
      c.ids.filter((id) => id !== old.id),
    );
    for (let i = 0; i < 50; i++) c.propose(next.id);
    c.runFor(100);
    const rejectsBefore = c.sent.filter((m) => m.from === old.id && m.type === 'append-response' && m.reject).length;
    c.heal();
    waitFor(c, 'the old leader to be repaired', () => logsMatch(c), 2_000);
    const rejects = c.sent.filter((m) => m.from === old.id && m.type === 'append-response' && m.reject).length - rejectsBefore;
    expect(rejects).toBeLessThanOrEqual(3);
    expect(old.role).toBe('follower');
  });
});
