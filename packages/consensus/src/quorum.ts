// Quorum arithmetic as pure functions (cf. etcd raft quorum/majority.go).
import type { NodeId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The largest index that a majority of voters has reached. */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1]!;
}

/** Outcome of an election given the votes heard so far (true = granted). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const vote = votes.get(v);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const q = majority(voters.length);
  if (granted >= q) return 'won';
  if (voters.length - rejected < q) return 'lost';
  return 'pending';
}

/** Whether a majority of voters satisfies `pred`. */
export function hasQuorum(voters: readonly NodeId[], pred: (id: NodeId) => boolean): boolean {
  return voters.filter(pred).length >= majority(voters.length);
}
