// The candidate's side of an election (§5.2; PreVote, thesis §9.6): campaign, then count the votes.
// The voter's side is RaftState.handleVoteRequest; the lease that protects a leader is in step.ts.
import { voteResult } from './quorum.js';
import type { RaftState } from './state.js';
import { NONE } from './types.js';

/** `context` on a vote request whose campaign a leadership transfer forced: it bypasses leases. */
export const CAMPAIGN_TRANSFER = 1;

export type CampaignKind = 'pre-vote' | 'vote';

/**
 * Start an election: a pre-candidate asks for votes in the next term without raising its own, a
 * candidate raises its term and votes for itself (§5.2). `transfer` marks a campaign that a
 * leadership transfer ordered (thesis §3.10).
 */
export function campaign(r: RaftState, kind: CampaignKind, transfer: boolean): void {
  if (r.role === 'leader' || !r.promotable()) return;
  let voteTerm: number;
  if (kind === 'pre-vote') {
    r.becomePreCandidate();
    voteTerm = r.term + 1;
  } else {
    r.becomeCandidate();
    voteTerm = r.term;
  }
  r.votes.set(r.id, true);
  if (pollVotes(r, transfer)) return;
  for (const to of r.voters) {
    if (to === r.id) continue;
    r.send({
      type: kind,
      to,
      term: voteTerm,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
      context: transfer ? CAMPAIGN_TRANSFER : 0,
    });
  }
}

/** Acts on the votes so far; returns true when the campaign is decided. */
export function pollVotes(r: RaftState, transfer: boolean): boolean {
  switch (voteResult(r.voters, r.votes)) {
    case 'won':
      if (r.role === 'pre-candidate') campaign(r, 'vote', transfer);
      else r.becomeLeader();
      return true;
    case 'lost':
      r.becomeFollower(r.term, NONE);
      return true;
    case 'pending':
      return false;
  }
}
