// What every message and tick goes through before a role sees it: validation, the term rules of
// Figure 2 ("Rules for Servers") with the leader lease (thesis §4.2.3), then the role's step.
import { stepCandidate } from './candidate.js';
import { campaign, CAMPAIGN_TRANSFER } from './elections.js';
import { stepFollower } from './follower.js';
import { stepLeader, tickLeader } from './leader.js';
import { malformed, termTooFar } from './message.js';
import type { RaftState } from './state.js';
import { NONE, type Message } from './types.js';

/** Malformed, misaddressed or stale messages are dropped. */
export function stepRaft(r: RaftState, m: Message): void {
  const bad =
    malformed(m) ??
    (m.to !== r.id ? `addressed to ${m.to}` : undefined) ??
    (m.from === r.id ? 'from ourselves' : undefined) ??
    termTooFar(m.term, r.term, r.now - r.termSince) ??
    // A node outside the configuration (e.g. removed) must not disrupt the cluster with elections.
    // A node that knows no configuration yet (just joined) cannot tell, and answers: the cluster
    // may need its vote to elect the leader that will tell it the configuration. Nor can a node
    // whose configuration may be stale: a candidate whose log goes past what we have applied may
    // be a voter in a configuration we have not applied yet (one that adds it, perhaps while we
    // were partitioned away) and need our vote.
    ((m.type === 'vote' || m.type === 'pre-vote') && r.voters.length > 0 && !r.voters.includes(m.from) && m.index <= r.log.applied
      ? `vote request from non-voter ${m.from}`
      : undefined);
  if (bad !== undefined) {
    r.events.push({ kind: 'message-dropped', from: String(m.from), reason: bad });
    return;
  }
  if (!stepTerm(r, m)) return;
  if (m.type === 'vote' || m.type === 'pre-vote') return r.handleVoteRequest(m);
  switch (r.role) {
    case 'leader':
      return stepLeader(r, m);
    case 'candidate':
    case 'pre-candidate':
      return stepCandidate(r, m);
    case 'follower':
      return stepFollower(r, m);
  }
}

/** Advance the logical clock: fires election timeouts (§5.2), heartbeats and CheckQuorum. */
/** The clock only ever moves forward. */
export function advanceClock(r: RaftState, nowMs: number): void {
  if (nowMs > r.now) r.now = nowMs;
}

export function tickRaft(r: RaftState, nowMs: number): void {
  advanceClock(r, nowMs);
  if (r.role === 'leader') tickLeader(r);
  else if (r.now >= r.electionDeadline) {
    if (r.promotable()) campaign(r, r.config.preVote ? 'pre-vote' : 'vote', false);
    else r.resetElectionTimer();
  }
}

/** The earliest clock reading at which tickRaft has anything to do (ticking earlier changes nothing). */
export function nextTickDeadline(r: RaftState): number {
  if (r.role !== 'leader') return r.electionDeadline;
  let due = r.heartbeatDeadline;
  if (r.config.checkQuorum) due = Math.min(due, r.checkQuorumDeadline);
  if (r.transferee !== NONE) due = Math.min(due, r.transferDeadline);
  return due;
}

/** Applies the term rules; returns false when the message is consumed (or ignored) here. */
function stepTerm(r: RaftState, m: Message): boolean {
  if (m.term > r.term) {
    if ((m.type === 'vote' || m.type === 'pre-vote') && m.context !== CAMPAIGN_TRANSFER && inLease(r)) {
      // We heard from a live leader within the minimum election timeout: a node that asks for our
      // vote is partitioned or slow, and must not depose a healthy leader (thesis §4.2.3).
      return false;
    }
    if (m.type === 'pre-vote' || (m.type === 'pre-vote-response' && !m.reject)) {
      // A pre-vote is for a future term and changes nothing here.
      return true;
    }
    r.events.push({ kind: 'term-changed', from: r.term, to: m.term, cause: m.from });
    r.becomeFollower(m.term, m.type === 'append' || m.type === 'heartbeat' ? m.from : NONE);
    return true;
  }
  if (m.term < r.term) {
    if (m.type === 'append' || m.type === 'heartbeat') {
      // A stale leader, cut off by a partition: our term tells it to step down (Figure 2: reply
      // false with currentTerm). Without this a node that never bumps its term (PreVote) could
      // leave that leader in place for good, and a node whose campaigns nobody hears (a learner
      // that was once removed) would ignore the leader's appends for good.
      r.send({ type: 'append-response', to: m.from, term: r.term });
    } else if (m.type === 'pre-vote' || m.type === 'vote') {
      // Figure 2: a vote request of a lower term is refused with our term, so the candidate
      // catches up (etcd ignores it). Otherwise a candidate that no one with a higher term
      // campaigns to can fall behind for good: it times out no faster than the voter it needs,
      // which keeps raising its term through campaigns of its own and others' and drops each of
      // its requests as stale (simulator, seed 20312 with --membership-heavy --nodes 5, once
      // higher terms stopped restarting election timers).
      r.send({ type: m.type === 'vote' ? 'vote-response' : 'pre-vote-response', to: m.from, term: r.term, reject: true });
    }
    return false;
  }
  return true;
}

/** Whether we heard from a live leader within the minimum election timeout (CheckQuorum's lease). */
function inLease(r: RaftState): boolean {
  return r.config.checkQuorum && r.leaderId !== NONE && r.now - r.lastLeaderContact < r.config.electionTimeoutMinMs;
}
