// The leader (§5.3, §5.4.2; CheckQuorum thesis §6.2): answers from followers move their progress
// and the commit index; its clock drives heartbeats, CheckQuorum and the transfer deadline.
import type { Progress } from './progress.js';
import { committedIndex, hasQuorum } from './quorum.js';
import { releaseReadsAwaitingCommit } from './read-index.js';
import { broadcastHeartbeat } from './replication.js';
import type { RaftState } from './state.js';
import { abortTransfer, handOff } from './transfer.js';
import { NONE, type Message } from './types.js';

export function stepLeader(r: RaftState, m: Message): void {
  const pr = r.prs.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case 'append-response':
      pr.recentActive = true;
      return handleAppendResponse(r, m, pr);
    case 'heartbeat-response': {
      pr.recentActive = true;
      // The follower is reachable: retry a lost probe, and unclog a window of appends that were
      // lost on the way (their acks will never come). If the follower lacks what we think is in
      // flight, the probe is rejected and we back up (§5.3).
      pr.probeSent = false;
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
      if (pr.match < r.log.lastIndex()) r.probeNeeded.add(m.from);
      r.readStates.push(...r.readOnly.ack(m.from, m.context, r.voters));
      return;
    }
    default:
      return;
  }
}

function handleAppendResponse(r: RaftState, m: Message, pr: Progress): void {
  if (m.reject) {
    const hint = m.hintTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, m.hintTerm) : m.rejectHint;
    if (pr.maybeDecrTo(m.index, hint)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      r.appendsPending = true;
    }
    return;
  }
  if (pr.maybeUpdate(m.index)) {
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot') {
      if (pr.match + 1 >= r.log.firstIndex()) pr.becomeReplicate();
    } else pr.inflights.freeLE(m.index);
    maybeCommit(r);
    r.appendsPending = true;
    // A transfer's target has caught up: it may campaign now (thesis §3.10).
    if (m.from === r.transferee && pr.match === r.log.lastIndex()) {
      r.send({ type: 'timeout-now', to: m.from, term: r.term });
    }
  } else if (pr.state === 'replicate') {
    pr.inflights.freeLE(m.index);
  }
}

/** §5.3/§5.4.2: commit the highest index stored on a majority, if it is of our term (Figure 8). */
export function maybeCommit(r: RaftState): void {
  const index = committedIndex(r.voters, (v) => (v === r.id ? r.log.persistedIndex() : (r.prs.get(v)?.match ?? 0)));
  if (!r.log.maybeCommit(index, r.term)) return;
  r.commitAdvanced = true;
  r.appendsPending = true;
  releaseReadsAwaitingCommit(r);
  if (!r.voters.includes(r.id)) handOff(r);
}

export function tickLeader(r: RaftState): void {
  if (r.config.checkQuorum && r.now >= r.checkQuorumDeadline) {
    r.checkQuorumDeadline = r.now + r.config.electionTimeoutMinMs;
    const active = hasQuorum(r.voters, (v) => v === r.id || r.prs.get(v)?.recentActive === true);
    for (const pr of r.prs.values()) pr.recentActive = false;
    if (!active) {
      r.events.push({ kind: 'step-down', term: r.term, reason: 'no quorum heard within an election timeout' });
      r.becomeFollower(r.term, NONE);
      return;
    }
    r.lastLeaderContact = r.now;
  }
  if (r.transferee !== NONE && r.now >= r.transferDeadline) {
    abortTransfer(r, 'the target did not take over within an election timeout');
    if (!r.voters.includes(r.id)) handOff(r); // try again, perhaps with another voter
  }
  if (r.now >= r.heartbeatDeadline) {
    r.heartbeatDeadline = r.now + r.config.heartbeatIntervalMs;
    broadcastHeartbeat(r);
  }
}
