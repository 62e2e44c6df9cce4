// Leadership transfer (thesis §3.10): bring the target's log level with ours, then tell it to
// campaign at once (TimeoutNow). New proposals are refused meanwhile (RaftState.checkProposable);
// the attempt is abandoned after an election timeout (leader.ts, tickLeader).
import { InvalidRequestError, NotLeaderError } from './errors.js';
import type { RaftState } from './state.js';
import { NONE, type NodeId } from './types.js';

export function transferLeadership(r: RaftState, to: NodeId): void {
  if (r.role !== 'leader') throw new NotLeaderError(r.leaderId);
  if (to === r.id) return;
  if (!r.voters.includes(to)) throw new InvalidRequestError(`cannot transfer leadership to ${to}: not a voter`);
  if (r.transferee === to) return;
  if (r.transferee !== NONE) abortTransfer(r, 'superseded by a transfer to ' + to);
  r.transferee = to;
  r.transferDeadline = r.now + r.config.electionTimeoutMinMs;
  r.events.push({ kind: 'transfer-started', term: r.term, to });
  const pr = r.prs.get(to)!;
  if (pr.match === r.log.lastIndex()) r.send({ type: 'timeout-now', to, term: r.term });
  else r.appendsPending = true;
}

/**
 * The voter to hand leadership to: the most caught-up one other than us (first in voter order on
 * a tie), which needs the shortest catch-up. NONE when we do not lead or no other voter exists.
 */
export function transferTarget(r: RaftState): NodeId {
  if (r.role !== 'leader') return NONE;
  let best: NodeId = NONE;
  let bestMatch = -1;
  for (const v of r.voters) {
    const pr = r.prs.get(v);
    if (pr !== undefined && pr.match > bestMatch) [best, bestMatch] = [v, pr.match];
  }
  return best;
}

export function abortTransfer(r: RaftState, reason: string): void {
  r.events.push({ kind: 'transfer-aborted', term: r.term, to: r.transferee, reason });
  r.transferee = NONE;
}

/**
 * A leader that is not a voter (its removal is committed, or it won as a removed node, see
 * promotable) hands leadership to the most caught-up voter instead of just stepping down: the
 * other voters adopt the new membership only once they learn that it is committed, and until
 * then they still need this node's vote, which it refuses them while its log is ahead of theirs.
 * The transfer first brings the target's log level with ours (thesis §3.10).
 */
export function handOff(r: RaftState): void {
  if (r.role !== 'leader' || r.transferee !== NONE) return;
  const best = transferTarget(r);
  if (best !== NONE) return transferLeadership(r, best);
  r.events.push({ kind: 'step-down', term: r.term, reason: 'removed from the configuration' });
  r.becomeFollower(r.term, NONE);
}
