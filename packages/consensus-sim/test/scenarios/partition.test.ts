// Network partition (raft-notes "Network Partition Issue"): a leader on each side, clients writing
// to both, only the majority committing; on healing the stale leader steps down and the minority
// rolls its uncommitted entries back.
import { logsMatch, newCluster, waitFor, waitForLeader } from './support.js';

describe('network partition', () => {
  // CheckQuorum off, so the minority leader keeps believing it leads (the notes' scenario); the
  // CheckQuorum scenario shows it stepping down instead.
  test('only the majority side commits; after healing all logs match the majority', () => {
    const c = newCluster(5, { seed: 21, raft: { checkQuorum: false } });
    const old = waitForLeader(c);
    c.runFor(200);
    const minority = [old.id, c.ids.find((id) => id !== old.id)!];
    const majority = c.ids.filter((id) => !minority.includes(id));
    c.partition([minority, majority]);

    // Reference: §5.2 — the majority side elects a leader of a higher term; the old one stays up.
    const next = waitForLeader(c, 3_000, majority);
    expect(next.hardState.term).toBeGreaterThan(old.hardState.term);
    expect(old.role).toBe('leader');

    const commitBefore = old.hardState.commit;
    const minorityWrites = Array.from({ length: 5 }, () => c.propose(old.id));
    const majorityWrites = Array.from({ length: 5 }, () => c.propose(next.id));
    c.runFor(1_000);
    // Reference: §5.3/§5.4 — the minority leader can append but never commit: no majority stores its entries.
    expect(old.hardState.commit).toBe(commitBefore);
    expect(old.storage.lastIndex()).toBeGreaterThanOrEqual(minorityWrites.at(-1)!.index);
    for (const p of minorityWrites) expect(c.checker.committedIndexOf(p.key)).toBeUndefined();
    for (const p of majorityWrites) expect(c.checker.committedIndexOf(p.key)).toBeDefined();

    c.heal();
    // The stale leader sees the higher term and steps down; its side rolls back and takes the majority's log.
    waitFor(c, 'the old leader to step down', () => old.role === 'follower', 1_000);
    waitFor(c, 'logs to converge', () => logsMatch(c) && c.nodes.every((n) => n.applied === next.hardState.commit), 2_000);
    expect(c.leaders()).toEqual([next]);
    for (const p of minorityWrites) expect(c.checker.committedIndexOf(p.key)).toBeUndefined();
    for (const p of majorityWrites) expect(c.appliedEverywhere(p.key)).toBe(true);
    for (const id of minority) {
      const st = c.node(id).storage;
      expect(st.term(minorityWrites[0]!.index)).toBe(next.storage.term(minorityWrites[0]!.index));
    }
  });

  // Reference: §5.4.1 — a node cut off from the leader cannot win without the committed entries.
  test('an asymmetric cut: a follower that hears nobody cannot take over a healthy majority', () => {
    const c = newCluster(3, { seed: 22 });
    const leader = waitForLeader(c);
    const f = c.nodes.find((n) => n !== leader)!;
    for (const other of c.ids) if (other !== f.id) c.network.cutOneWay(other, f.id);
    const term = leader.hardState.term;
    for (let i = 0; i < 10; i++) c.propose(leader.id);
    c.runFor(3_000);
    // PreVote keeps the deaf follower from bumping terms; the leader keeps leading.
    expect(c.leaders()).toEqual([leader]);
    expect(leader.hardState.term).toBe(term);
    c.heal();
    waitFor(c, 'the follower to catch up', () => logsMatch(c), 1_000);
  });
});
