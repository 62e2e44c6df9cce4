// ReadIndex (thesis §6.4): a linearizable read waits for the leader to confirm, with a heartbeat
// round acknowledged by a majority, that it still leads; a deposed leader must never answer.
import { commitCommands, newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('ReadIndex', () => {
  test('a read is released only after a majority acknowledges a heartbeat round', () => {
    const c = newCluster(3, { seed: 61 });
    const leader = waitForLeader(c);
    commitCommands(c, 3);
    c.runFor(100);
    // The leader can still send but hears nothing back: no confirmation can arrive.
    for (const id of c.ids) if (id !== leader.id) c.network.cutOneWay(id, leader.id);
    const commitAtIssue = leader.hardState.commit;
    const rid = c.readIndex(leader.id);
    c.runFor(2 * TIMING.heartbeatIntervalMs);
    expect(c.checker.released.has(rid)).toBe(false);
    c.heal();
    waitFor(c, 'the read to be released', () => c.checker.released.has(rid), TIMING.heartbeatIntervalMs + 20);
    expect(c.checker.released.get(rid)).toMatchObject({ node: leader.id, index: commitAtIssue });
  });

  test('a partitioned leader never releases a read, while the majority moves on', () => {
    const c = newCluster(5, { seed: 62, raft: { checkQuorum: false } });
    const old = waitForLeader(c);
    commitCommands(c, 2);
    c.runFor(100);
    c.partition([[old.id, c.ids.find((id) => id !== old.id)!], c.ids.filter((id) => id !== old.id).slice(1)]);
    const rid = c.readIndex(old.id);
    const next = waitForLeader(c, 3_000, c.ids.filter((id) => id !== old.id).slice(1));
    for (let i = 0; i < 5; i++) c.propose(next.id);
    c.runFor(10 * TIMING.electionTimeoutMaxMs);
    expect(old.role).toBe('leader'); // still believes it leads (no CheckQuorum)...
    expect(c.checker.released.has(rid)).toBe(false); // ...but cannot confirm it, so serves nothing stale
  });

  // Reference: thesis §6.4 step 1 — a new leader's commit index is only known current once it has
  // committed an entry of its own term (the no-op), so reads wait for that.
  test('a read at a brand-new leader covers everything committed before it', () => {
    const c = newCluster(3, { seed: 63 });
    const first = waitForLeader(c);
    commitCommands(c, 5);
    c.runFor(100);
    const before = c.checker.commitIndex;
    c.crash(first.id);
    const next = waitForLeader(c, 3_000);
    let rid: number | undefined;
    waitFor(
      c,
      'the new leader to accept a read',
      () => {
        try {
          rid ??= c.readIndex(next.id);
          return true;
        } catch {
          return false;
        }
      },
      100,
    );
    waitFor(c, 'the read to be released', () => c.checker.released.has(rid!), 500);
    expect(c.checker.released.get(rid!)!.index).toBeGreaterThan(before); // at least the new no-op
  });
});
