// A follower's write overtaken in memory (the Ready contract's relaxation 2), built step by step for
// the scenario and mutation tests: n3 alone gets n1's term-1 entry X and starts a slow write of it;
// meanwhile n2 wins term 2 without X and sends its own entries for the same indices, which replace
// X in n3's core before the write completes. The core must not then take them for written.
import type { Cluster, Proposal } from '../../src/cluster.js';
import { elect, MANUAL_ELECTIONS, newCluster, waitFor } from './support.js';

export function overtakenWrite(): { c: Cluster; x: Proposal; keys: string[] } {
  const c = newCluster(5, {
    seed: 41,
    raft: { ...MANUAL_ELECTIONS, preVote: false, checkQuorum: false },
    disk: { asyncPersist: true, fastMaxMs: 0 },
  });
  elect(c, 'n1');
  waitFor(c, 'the no-op to commit everywhere', () => c.nodes.every((n) => n.applied === 1), 200);
  const n3 = c.node('n3');
  n3.disk!.writeMs = 40;
  c.network.dropFilter = (m) => m.from === 'n1' && m.to !== 'n3';
  const x = c.propose('n1');
  waitFor(c, 'n3 to start writing X', () => n3.persisting, 20);
  c.network.dropFilter = null;
  c.isolate('n1');
  elect(c, 'n2');
  waitFor(c, 'n3 to hear of term 2 while it writes X', () => n3.raft!.status().term === 2, 30);
  expect(n3.persisting).toBe(true);
  waitFor(c, 'the write of X to complete', () => n3.storage.lastIndex() >= x.index, 40);
  expect(n3.storage.term(x.index)).toBe(1);
  n3.disk!.writeMs = null;
  // n1 still thinks it leads (isolated, no CheckQuorum): propose at n2.
  const keys = [1, 2, 3].map(() => c.propose('n2').key);
  waitFor(c, 'n3 to apply the term-2 entries', () => keys.every((k) => n3.applied >= (c.checker.committedIndexOf(k) ?? Infinity)), 500);
  return { c, x, keys };
}
