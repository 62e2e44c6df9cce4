// The Figure 8 situation (§5.4.2), built step by step for the scenario and mutation tests:
// returns at (c), with X — an entry of S1's first term — stored on S1, S2 and S3 (a majority) and
// S1, leading a later term, KNOWING it (S2 and S3 acknowledged), while S1's own-term no-op is on
// S1 and S2 only. Counting replicas of X would commit it; the rule says it must not.
import type { Cluster } from '../../src/cluster.js';
import { elect, MANUAL_ELECTIONS, newCluster, waitFor } from './support.js';

export function figure8(): { c: Cluster; x: { key: string; index: number; term: number }; s1Term: number } {
  // One entry per append, so that S3 can be given X without S1's next entry.
  const c = newCluster(5, {
    seed: 81,
    raft: { ...MANUAL_ELECTIONS, preVote: false, checkQuorum: false, maxMessageBytes: 1 },
    network: { delayMinMs: 1, delayMaxMs: 1 },
  });
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

  // (c) S1 restarts and wins (S2, S3, S4). S2 acknowledges S1's no-op (so S1 knows S2 holds X);
  // S3 rejects the first probe (it lacks X), is then sent X, but never the no-op; S4 gets nothing. X sits on S1, S2, S3 — a majority that S1
  // knows of — and still must not commit.
  c.restart('n1');
  c.network.dropFilter = (m) =>
    m.from === 'n1' &&
    m.type === 'append' &&
    (m.to === 'n4' ||
      m.to === 'n5' ||
      (m.to === 'n3' && c.node('n3').storage.lastIndex() >= x.index && m.entries.some((e) => e.index > x.index)));
  const s1 = elect(c, 'n1');
  waitFor(c, 'X on S3', () => c.node('n3').storage.lastIndex() >= x.index && c.node('n3').storage.term(x.index) === x.term, 200);
  waitFor(
    c,
    'S1 to know S2 and S3 hold X',
    () => {
      const pr = s1.raft!.status().progress;
      return (pr['n2']?.match ?? 0) > x.index && pr['n3']?.match === x.index;
    },
    200,
  );
  return { c, x, s1Term: s1.hardState.term };
}
