// Single-server membership changes with learners (thesis ch. 4): one change at a time, proposed as
// a log entry that carries the whole new membership, in effect once the driver applies it.
import { InvalidRequestError, ProposalDroppedError } from './errors.js';
import { maybeCommit } from './leader.js';
import { Progress } from './progress.js';
import type { RaftState } from './state.js';
import { abortTransfer, handOff } from './transfer.js';
import { NONE, type ConfChange, type ConfState } from './types.js';

/**
 * Leader only: append a change encoded by the driver. The previous one must be applied, and this
 * leader must have committed an entry of its term (becomeLeader sets pendingConfIndex to its no-op),
 * which closes the single-server-change hazard Ongaro described in 2015.
 */
export function proposeConfChange(r: RaftState, data: Uint8Array): { index: number; term: number } {
  r.checkProposable();
  if (r.pendingConfIndex > r.log.applied) {
    throw new ProposalDroppedError(`a configuration change (index ${r.pendingConfIndex}) is still in progress`);
  }
  const index = r.log.lastIndex() + 1;
  r.appendEntries([data], 'conf-change');
  r.pendingConfIndex = index;
  return { index, term: r.term };
}

/** The driver applied a committed change: adopt the membership it carries. */
export function applyConf(r: RaftState, conf: ConfState): void {
  if (conf.voters.length === 0) return; // cannot be proposed (changeConf refuses it); never adopt it
  r.voters = [...conf.voters];
  r.learners = [...conf.learners];
  r.events.push({ kind: 'conf-changed', conf: r.confState() });
  if (r.role === 'leader') leaderConfChanged(r);
}

/** Membership changed under a leader: track new members, forget removed ones, re-count quorums. */
function leaderConfChanged(r: RaftState): void {
  const members = new Set([...r.voters, ...r.learners]);
  for (const id of members) {
    if (id !== r.id && !r.prs.has(id)) {
      const pr = new Progress(r.log.lastIndex() + 1, r.config.maxInflightMessages);
      pr.recentActive = true;
      r.prs.set(id, pr);
      r.probeNeeded.add(id);
    }
  }
  for (const id of [...r.prs.keys()]) if (!members.has(id)) r.prs.delete(id);
  if (r.transferee !== NONE && !r.voters.includes(r.transferee)) abortTransfer(r, 'the target was removed');
  maybeCommit(r);
  r.appendsPending = true;
  // Our own removal is committed (§4.2.2): hand over to a remaining voter (maybeCommit did, if it advanced).
  if (!r.voters.includes(r.id)) handOff(r);
}

/**
 * The membership after one single-server change (thesis §4.1). Throws InvalidRequestError for a
 * change that would leave no voter or that changes nothing.
 */
export function changeConf(conf: ConfState, cc: ConfChange): ConfState {
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners);
  switch (cc.type) {
    case 'add-learner':
      if (voters.has(cc.nodeId) || learners.has(cc.nodeId)) throw new InvalidRequestError(`${cc.nodeId} is already a member`);
      learners.add(cc.nodeId);
      break;
    case 'add-voter':
      if (voters.has(cc.nodeId)) throw new InvalidRequestError(`${cc.nodeId} is already a voter`);
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case 'remove':
      if (!voters.has(cc.nodeId) && !learners.has(cc.nodeId)) throw new InvalidRequestError(`${cc.nodeId} is not a member`);
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      if (voters.size === 0) throw new InvalidRequestError(`cannot remove ${cc.nodeId}: it is the last voter`);
      break;
  }
  return { voters: [...voters], learners: [...learners] };
}
