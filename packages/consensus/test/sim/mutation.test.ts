// The simulator must be able to fail: break the core on purpose (mutation testing) and check that
// the swarm and the scenarios catch it, naming the right property.
import { RaftLog } from '../../src/log.js';
import { RaftNode } from '../../src/raft.js';
import { elect } from '../scenarios/support.js';
import { figure8 } from '../scenarios/figure8.js';
import { runSeed } from './swarm.js';
import { SafetyViolation } from './violation.js';

type Patchable = Record<string, unknown>;

/** Replace a method for the duration of `body`. */
function mutate<T>(proto: object, method: string, impl: (this: never, ...args: never[]) => unknown, body: () => T): T {
  const p = proto as Patchable;
  const orig = p[method];
  p[method] = impl;
  try {
    return body();
  } finally {
    p[method] = orig;
  }
}

/** The first failing seed's violated property, trying seeds 1..maxSeeds. */
function firstViolation(maxSeeds: number): string | undefined {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runSeed(seed);
    if (!r.ok) return r.violation!.property;
  }
  return undefined;
}

describe('mutations of the core are caught', () => {
  test('voting for a candidate whose log is behind (no election restriction, §5.4.1)', () => {
    const found = mutate(RaftLog.prototype, 'isUpToDate', () => true, () => firstViolation(30));
    expect(found).toBe('Leader Completeness');
  }, 60_000);

  test('forgetting a vote (two votes in one term)', () => {
    const orig = (RaftNode.prototype as unknown as Patchable)['handleVoteRequest'] as (this: { vote: string }, m: { type: string }) => void;
    const found = mutate(
      RaftNode.prototype,
      'handleVoteRequest',
      function (this: { vote: string }, m: { type: string }) {
        if (m.type === 'vote') this.vote = '';
        orig.call(this, m);
      } as never,
      () => firstViolation(30),
    );
    expect(found).toBe('One vote per term');
  }, 60_000);

  test('committing an old-term entry by counting replicas (Figure 8)', () => {
    // Rare in random runs (about one seed in 300), so build the situation on purpose: S1 commits X
    // at (c), then S5 wins without X — which the checker flags.
    const broken = function (this: { committed: number; commitTo(i: number): boolean }, index: number): boolean {
      return index > this.committed && this.commitTo(index);
    };
    let property = 'none';
    mutate(RaftLog.prototype, 'maybeCommit', broken as never, () => {
      try {
        const { c } = figure8();
        c.runFor(500);
        c.crash('n1');
        c.restart('n5');
        elect(c, 'n5');
      } catch (e) {
        if (e instanceof SafetyViolation) property = e.property;
        else throw e;
      }
    });
    expect(property).toBe('Leader Completeness');
  }, 60_000);
});
