// The simulator must be able to fail: break the core on purpose (mutation testing) and check that
// the swarm and the scenarios catch it, naming the right property.
import { ProposalDroppedError, RaftNode } from '@raftkv/consensus';
import { RaftLog, RaftState } from '@raftkv/consensus/internal';
import { runSeed } from '../src/swarm.js';
import { violationOf } from '../src/violation.js';
import { figure8 } from './scenarios/figure8.js';
import { overtakenWrite } from './scenarios/overtaken-write.js';
import { elect, MANUAL_ELECTIONS, newCluster } from './scenarios/support.js';

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
    const found = mutate(
      RaftLog.prototype,
      'isUpToDate',
      () => true,
      () => firstViolation(30),
    );
    expect(found).toBe('Leader Completeness');
  }, 60_000);

  test('forgetting a vote (two votes in one term)', () => {
    type HandleVoteRequest = (this: { vote: string }, m: { type: string }) => void;
    const orig = (RaftState.prototype as unknown as Patchable)['handleVoteRequest'] as HandleVoteRequest;
    const found = mutate(
      RaftState.prototype,
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
    const property = mutate(RaftLog.prototype, 'maybeCommit', broken as never, () =>
      violationOf(() => {
        const { c } = figure8();
        c.runFor(500);
        c.crash('n1');
        c.restart('n5');
        elect(c, 'n5');
      }),
    );
    expect(property).toBe('Leader Completeness');
  }, 60_000);

  test('taking for written the entries that replaced a write under way (stableTo without its term check)', () => {
    // Only possible when input arrives between ready() and advance() (the contract's relaxation 2).
    const broken = function (this: { unstable: { offset: number; entries: unknown[] } }, index: number): void {
      const u = this.unstable;
      if (index < u.offset || index >= u.offset + u.entries.length) return;
      u.entries = u.entries.slice(index + 1 - u.offset);
      u.offset = index + 1;
    };
    const property = mutate(RaftLog.prototype, 'stableTo', broken as never, () => violationOf(() => void overtakenWrite()));
    // n3 keeps X on disk while its core believes it holds n2's entry there.
    expect(property).toBe('State Machine Safety');
  }, 60_000);
});

describe('membership changes: one at a time', () => {
  /** proposeConfChange without its guard: neither the previous change applied nor an entry of the term committed. */
  const unguarded = function (this: { r: RaftState }, data: Uint8Array) {
    const r = this.r;
    r.checkProposable();
    const index = r.log.lastIndex() + 1;
    r.appendEntries([data], 'conf-change');
    r.pendingConfIndex = index;
    return { index, term: r.term };
  };

  /** Two changes proposed back to back, the second before the first is applied (or right after an election). */
  function twoChanges(afterElection: (c: ReturnType<typeof newCluster>) => void): string {
    const c = newCluster(5, { seed: 45, voters: 3, raft: MANUAL_ELECTIONS });
    elect(c, 'n1');
    afterElection(c);
    try {
      return violationOf(() => {
        c.proposeConfChange('n1', { type: 'add-learner', nodeId: 'n4' });
        c.proposeConfChange('n1', { type: 'add-learner', nodeId: 'n5' });
        c.runFor(200);
      });
    } catch (e) {
      if (e instanceof ProposalDroppedError) return e.name;
      throw e;
    }
  }
  const afterCommit = (c: ReturnType<typeof newCluster>): void => void c.runFor(100);

  test('the core refuses a second change in flight', () => {
    expect(twoChanges(afterCommit)).toBe('ProposalDroppedError');
  });

  test('a second change in flight, or a change before the first commit of the term, is caught', () => {
    for (const after of [afterCommit, () => {}]) {
      const property = mutate(RaftNode.prototype, 'proposeConfChange', unguarded as never, () => twoChanges(after));
      expect(property).toBe('One membership change at a time');
    }
  });
});
