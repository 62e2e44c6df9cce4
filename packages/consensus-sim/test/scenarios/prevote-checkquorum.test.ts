// PreVote (thesis §9.6) and CheckQuorum (thesis §6.2): the two guards against partitioned nodes.
import { NotLeaderError } from '@raftkv/consensus';
import { commitCommands, logsMatch, newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('PreVote', () => {
  // Reference: thesis §9.6 — a server first asks whether it could win; only then does it bump its term.
  test('a partitioned node that rejoins does not bump the healthy leader’s term', () => {
    const c = newCluster(3, { seed: 41 });
    const leader = waitForLeader(c);
    commitCommands(c, 3);
    const term = leader.hardState.term;
    const loner = c.nodes.find((n) => n !== leader)!;
    c.network.isolate(loner.id);
    c.runFor(10 * TIMING.electionTimeoutMaxMs);
    expect(loner.hardState.term).toBe(term); // it kept pre-voting, never campaigning for real
    const writes = [c.propose(leader.id), c.propose(leader.id)];
    waitFor(c, 'the majority to commit', () => writes.every((p) => c.checker.committedIndexOf(p.key) !== undefined), 500);
    c.heal();
    c.runFor(5 * TIMING.electionTimeoutMaxMs);
    expect(c.leaders()).toEqual([leader]);
    for (const n of c.nodes) expect(n.hardState.term).toBe(term);
    expect(loner.leaderId).toBe(leader.id);
    expect(logsMatch(c)).toBe(true);
  });

  test('without PreVote (and CheckQuorum) the rejoining node disrupts the leader with its higher term', () => {
    const c = newCluster(3, { seed: 41, raft: { preVote: false, checkQuorum: false } });
    const leader = waitForLeader(c);
    const term = leader.hardState.term;
    const loner = c.nodes.find((n) => n !== leader)!;
    c.network.isolate(loner.id);
    c.runFor(10 * TIMING.electionTimeoutMaxMs);
    expect(loner.hardState.term).toBeGreaterThan(term + 3);
    c.heal();
    waitFor(c, 'the term to jump', () => c.nodes.every((n) => n.hardState.term > term + 3), 2_000);
    waitForLeader(c);
  });
});

describe('CheckQuorum', () => {
  // Reference: thesis §6.2 — a leader that has not heard from a majority for an election timeout
  // steps down, so clients of the minority side fail fast instead of waiting on writes that cannot commit.
  test('a minority-side leader steps down within an election timeout', () => {
    const c = newCluster(5, { seed: 51 });
    const old = waitForLeader(c);
    c.runFor(500);
    const minority = [old.id, c.ids.find((id) => id !== old.id)!];
    c.partition([minority, c.ids.filter((id) => !minority.includes(id))]);
    const cutAt = c.nowMs;
    waitFor(c, 'the minority leader to step down', () => old.role !== 'leader', TIMING.electionTimeoutMaxMs + TIMING.heartbeatIntervalMs);
    const steppedDownAfter = c.nowMs - cutAt;
    expect(steppedDownAfter).toBeLessThanOrEqual(TIMING.electionTimeoutMaxMs + TIMING.heartbeatIntervalMs);
    expect(() => c.propose(old.id)).toThrow(NotLeaderError);
    const next = waitForLeader(c, 3_000);
    expect(c.ids.filter((id) => !minority.includes(id))).toContain(next.id);
    c.heal();
    commitCommands(c, 2);
    expect(logsMatch(c)).toBe(true);
  });

  test('a leader that can send but not hear (one-way cut) steps down and the rest elect a new leader', () => {
    const c = newCluster(3, { seed: 52 });
    const old = waitForLeader(c);
    c.runFor(300);
    for (const id of c.ids) if (id !== old.id) c.network.cutOneWay(id, old.id);
    waitFor(c, 'the deaf leader to step down', () => old.role !== 'leader', TIMING.electionTimeoutMaxMs + TIMING.heartbeatIntervalMs);
    const next = waitForLeader(c, 3_000);
    expect(next.id).not.toBe(old.id);
    c.heal();
    commitCommands(c, 2);
    expect(logsMatch(c)).toBe(true);
  });

  test('without CheckQuorum the minority-side leader lingers', () => {
    const c = newCluster(5, { seed: 51, raft: { checkQuorum: false } });
    const old = waitForLeader(c);
    c.partition([[old.id], c.ids.filter((id) => id !== old.id)]);
    c.runFor(10 * TIMING.electionTimeoutMaxMs);
    expect(old.role).toBe('leader');
  });
});
