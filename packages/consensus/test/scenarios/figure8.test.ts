// The Figure 8 commit rule. Reference: §5.4.2 — "Raft never commits log entries from previous terms
// by counting replicas. Only log entries from the leader's current term are committed by counting
// replicas." The paper's sequence, with S1..S5 as n1..n5 and elections run by hand (basic Raft:
// PreVote and CheckQuorum off, timeouts too long to fire). Every leader here also appends a no-op
// of its term first (§8), which shifts the paper's indexes by one but not the argument.
import { bytesKey } from '../sim/commands.js';
import type { Cluster } from '../sim/cluster.js';
import { elect, MANUAL_ELECTIONS, newCluster, waitFor } from './support.js';

function figure8(): { c: Cluster; x: { key: string; index: number; term: number }; s1Term: number } {
  const c = newCluster(5, { seed: 81, raft: { ...MANUAL_ELECTIONS, preVote: false, checkQuorum: false }, network: { delayMinMs: 1, delayMaxMs: 1 } });
  // (a) S1 leads; its no-op commits everywhere; then entry X reaches only S2.
  elect(c, 'n1');
  waitFor(c, 'the no-op to commit everywhere', () => c.nodes.every((n) => n.applied === 1), 200);
  c.network.dropFilter = (m) => m.from === 'n1' && m.type === 'append' && m.to !== 'n2';
  const x = c.propose('n1');
  waitFor(c, 'X on S2', () => c.node('n2').storage.lastIndex() === x.index, 50);
  c.crash('n1');
  c.network.dropFilter = null;

  // (b) S5 wins with S3 and S4, appends its own entry at X's index, and crashes before sending it.
  c.network.dropFilter = (m) => m.from === 'n5' && m.type === 'append';
  elect(c, 'n5');
  expect(c.node('n5').storage.term(x.index)).toBeGreaterThan(x.term);
  c.crash('n5');
  c.network.dropFilter = null;

  // (c) S1 restarts and wins (S2, S3, S4), and replicates X to S3 but not its own term's no-op to
  // a majority: X now sits on S1, S2, S3 — a majority — and still must not commit.
  c.restart('n1');
  c.network.dropFilter = (m) => m.from === 'n1' && m.type === 'append' && m.to !== 'n3';
  const s1 = elect(c, 'n1');
  waitFor(c, 'X on S3', () => c.node('n3').storage.lastIndex() >= x.index && c.node('n3').storage.term(x.index) === x.term, 200);
  return { c, x, s1Term: s1.hardState.term };
}

describe('Figure 8: committing entries from previous terms', () => {
  test('(c)→(d) an old-term entry on a majority is not committed, and a later leader may erase it safely', () => {
    const { c, x } = figure8();
    const holders = c.nodes.filter((n) => n.storage.lastIndex() >= x.index && n.storage.term(x.index) === x.term);
    expect(holders.map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    c.runFor(500);
    expect(c.node('n1').hardState.commit).toBeLessThan(x.index);
    expect(c.checker.commitIndex).toBeLessThan(x.index);

    // (d) S1 crashes; S5 (last term 3 > X's term) wins with S2 and S4 and overwrites X everywhere.
    c.crash('n1');
    c.network.dropFilter = null;
    c.restart('n5');
    const s5 = elect(c, 'n5');
    const y = c.propose('n5');
    waitFor(c, 'S5’s log to commit', () => c.checker.committedIndexOf(y.key) !== undefined, 500);
    c.restart('n1');
    waitFor(c, 'every log to match S5', () => c.nodes.every((n) => n.applied === s5.hardState.commit && n.storage.lastIndex() === s5.storage.lastIndex()), 1_000);
    for (const n of c.nodes) expect(n.storage.term(x.index)).not.toBe(x.term);
    expect(c.checker.committedIndexOf(x.key)).toBeUndefined();
  });

  test('(e) once an entry of the current term is on a majority, X commits with it and S5 can no longer win', () => {
    const { c, x, s1Term } = figure8();
    c.network.dropFilter = null; // S1's no-op now reaches S2 and S4 too
    waitFor(c, 'S1 to commit', () => c.node('n1').hardState.commit > x.index, 200);
    expect(c.checker.committedEntryTerm(x.index)).toBe(x.term);
    expect(c.checker.committedEntryTerm(x.index + 1)).toBe(s1Term);
    expect(bytesKey(c.node('n1').storage.entries(x.index, x.index + 1, Infinity)[0]!.data)).toBe(x.key.slice('normal:'.length));
    c.crash('n1');
    c.restart('n5');
    for (let i = 0; i < 3; i++) {
      c.campaign('n5');
      c.runFor(100);
    }
    expect(c.node('n5').role).not.toBe('leader'); // its log is behind the majority's (§5.4.1)
  });
});
