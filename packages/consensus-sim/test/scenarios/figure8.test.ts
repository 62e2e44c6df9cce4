// The Figure 8 commit rule. Reference: §5.4.2 — "Raft never commits log entries from previous terms
// by counting replicas. Only log entries from the leader's current term are committed by counting
// replicas." The paper's sequence, with S1..S5 as n1..n5 and elections run by hand (basic Raft:
// PreVote and CheckQuorum off, timeouts too long to fire). Every leader here also appends a no-op
// of its term first (§8), which shifts the paper's indexes by one but not the argument.
import { bytesKey } from '../../src/commands.js';
import { elect, waitFor } from './support.js';
import { figure8 } from './figure8.js';

describe('Figure 8: committing entries from previous terms', () => {
  test('(c)→(d) an old-term entry on a majority is not committed, and a later leader may erase it safely', () => {
    const { c, x } = figure8();
    const holders = c.nodes.filter((n) => n.storage.lastIndex() >= x.index && n.storage.term(x.index) === x.term);
    expect(holders.map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    c.runFor(500);
    expect(c.node('n1').hardState.commit).toBeLessThan(x.index);
    expect(c.checker.commitIndex).toBeLessThan(x.index);

    // (d) S1 crashes; S5 (its last term is above X's) wins with S3 and S4 and overwrites X everywhere.
    c.crash('n1');
    c.network.dropFilter = null;
    c.restart('n5');
    const s5 = elect(c, 'n5');
    const y = c.propose('n5');
    waitFor(c, 'S5’s log to commit', () => c.checker.committedIndexOf(y.key) !== undefined, 500);
    c.restart('n1');
    waitFor(
      c,
      'every log to match S5',
      () => c.nodes.every((n) => n.applied === s5.hardState.commit && n.storage.lastIndex() === s5.storage.lastIndex()),
      1_000,
    );
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
