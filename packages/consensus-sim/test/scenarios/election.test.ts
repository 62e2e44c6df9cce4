// Leader election (raft-notes "Leader Election Summary", "Election Timeout", "Split Vote Issue").
import type { NodeId } from '@raftkv/consensus';
import { isNoop } from '../../src/commands.js';
import { commitOn, newCluster, TIMING, waitFor, waitForLeader } from './support.js';

describe('leader election', () => {
  // Reference: §5.2 — servers start as followers; the first whose randomized timeout fires campaigns.
  test.each([3, 5])('all-follower cluster of %i elects exactly one leader within an election timeout or so', (size) => {
    const c = newCluster(size, { seed: 7 });
    for (const n of c.nodes) {
      expect(n.role).toBe('follower');
      expect(n.hardState.term).toBe(0);
    }
    const leader = waitForLeader(c, TIMING.electionTimeoutMaxMs + 100);
    expect(c.leaders()).toHaveLength(1);
    // Everyone learns who leads, in the leader's term.
    waitFor(c, 'followers to learn the leader', () => c.nodes.every((n) => n.leaderId === leader.id), TIMING.heartbeatIntervalMs + 20);
    for (const n of c.nodes) expect(n.hardState.term).toBe(leader.hardState.term);
    expect(leader.hardState.vote).toBe(leader.id);
    // Reference: §8 — a new leader commits a no-op of its own term first.
    const first = leader.storage.entries(1, 2, Infinity)[0]!;
    expect(first.term).toBe(leader.hardState.term);
    expect(isNoop(first)).toBe(true);
  });

  test('a one-node cluster elects itself and commits alone', () => {
    const c = newCluster(1);
    const leader = waitForLeader(c, TIMING.electionTimeoutMaxMs + 10);
    const p = c.propose(leader.id);
    waitFor(c, 'commit', () => c.appliedEverywhere(p.key), 10);
  });

  // Reference: §5.2 — followers that stop hearing heartbeats elect a new leader in a higher term.
  test('re-election after the leader fails, and the old leader rejoins as a follower', () => {
    const c = newCluster(5, { seed: 3 });
    const old = waitForLeader(c);
    c.runFor(500);
    const oldTerm = old.hardState.term;
    c.crash(old.id);
    const crashedAt = c.nowMs;
    const next = waitForLeader(c, 3_000);
    expect(next.id).not.toBe(old.id);
    expect(next.hardState.term).toBeGreaterThan(oldTerm);
    // With nobody else campaigning early, that takes about one timeout plus a pre-vote and a vote round.
    expect(c.nowMs - crashedAt).toBeLessThan(2 * TIMING.electionTimeoutMaxMs);

    c.restart(old.id);
    waitFor(c, 'the old leader to follow the new one', () => old.leaderId === next.id, 1_000);
    expect(old.role).toBe('follower');
    expect(old.hardState.term).toBe(next.hardState.term);
    expect(c.leaders()).toEqual([next]);
  });

  // Reference: §5.2 — "randomized election timeouts ensure that split votes are rare and that they
  // are resolved quickly". We force a tie: two candidates at once in a 4-node cluster, each reaching
  // one voter first over fast links, so each gets 2 of the 3 votes it needs.
  test('a forced split vote is resolved by randomized timeouts in a later term', () => {
    const c = newCluster(4, { seed: 11, raft: { preVote: false }, network: { delayMinMs: 1, delayMaxMs: 1 } });
    c.network.slowLink('n1', 'n4', 100);
    c.network.slowLink('n2', 'n3', 100);
    c.campaign('n1');
    c.campaign('n2');
    c.runFor(20);
    expect(c.leaders()).toHaveLength(0);
    expect(c.node('n1').role).toBe('candidate');
    expect(c.node('n2').role).toBe('candidate');
    expect(c.node('n3').hardState).toMatchObject({ term: 1, vote: 'n1' });
    expect(c.node('n4').hardState).toMatchObject({ term: 1, vote: 'n2' });
    c.runFor(120); // the slow requests arrive and are refused: each voter already voted in term 1
    expect(c.leaders()).toHaveLength(0);

    const leader = waitForLeader(c, 5 * TIMING.electionTimeoutMaxMs);
    expect(leader.hardState.term).toBeGreaterThanOrEqual(2);
    expect(c.checker.leaderOfTerm.has(1)).toBe(false);
    waitFor(c, 'every node to follow', () => c.nodes.every((n) => n.leaderId === leader.id), 500);
    expect(c.leaders()).toHaveLength(1);
  });

  // Reference: Figure 2 — a follower times out after an election timeout "without receiving
  // AppendEntries RPC from current leader or granting vote to candidate"; a higher term alone does
  // not restart its timer. The shape of simulator seed 20063 (--membership-heavy --nodes 5, PreVote
  // off): a node with a stale log campaigns again and again, its campaigns never end (the third
  // voter is down), and the one voter that can win needs its vote. If every refused vote request
  // restarted the good voter's timer, the good voter could win only after drawing a timeout shorter
  // than the stale node's by a round trip; here (seed 31) that took 2.2 s of campaigns (seeds 1-200:
  // p50 0.36 s, p99 2.1 s). Keeping its deadline, it campaigns within an election timeout of the
  // leader's last heartbeat, and once more if that first campaign met the stale node's next one
  // (seeds 1-200: p50 0.23 s, max 0.46 s).
  test('a follower that refuses a stale candidate keeps its deadline and wins the next election', () => {
    const c = newCluster(3, { seed: Number(process.env.SEEDX ?? 31), raft: { preVote: false, checkQuorum: false } });
    const leader = waitForLeader(c);
    const [good, stale] = c.ids.filter((id) => id !== leader.id) as [NodeId, NodeId];
    c.crash(stale);
    commitOn(c, [leader.id, good]);
    c.crash(leader.id);
    c.restart(stale);
    c.campaign(stale); // before the good voter's timeout: it hears a higher term from a candidate it must refuse
    const term = c.node(stale).hardState.term;
    waitFor(c, `${good} to learn term ${term}`, () => c.node(good).hardState.term >= term, 10);
    expect(c.node(good).hardState.vote).not.toBe(stale); // refused: the stale log is behind

    const next = waitForLeader(c, 2 * TIMING.electionTimeoutMaxMs);
    expect(next.id).toBe(good); // the only node whose log can win
    expect(c.node(stale).hardState).toMatchObject({ term: next.hardState.term, vote: good });
  });
});
