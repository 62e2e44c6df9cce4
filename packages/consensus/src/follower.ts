// The follower (§5.3): the receiver side of AppendEntries, heartbeats and InstallSnapshot (ch. 5),
// and TimeoutNow (thesis §3.10). A candidate that hears from a leader of its term uses the same
// receivers once it has stepped down (candidate.ts).
import { campaign } from './elections.js';
import type { RaftState } from './state.js';
import type { Message, NodeId } from './types.js';

export function stepFollower(r: RaftState, m: Message): void {
  switch (m.type) {
    case 'append':
      heardFromLeader(r, m.from);
      return handleAppend(r, m);
    case 'heartbeat':
      heardFromLeader(r, m.from);
      return handleHeartbeat(r, m);
    case 'snapshot':
      heardFromLeader(r, m.from);
      return handleSnapshot(r, m);
    case 'timeout-now':
      // Leadership transfer (thesis §3.10): campaign at once, skipping PreVote and leases.
      return campaign(r, 'vote', true);
    default:
      return;
  }
}

function heardFromLeader(r: RaftState, from: NodeId): void {
  r.leaderId = from;
  r.lastLeaderContact = r.now;
  r.resetElectionTimer();
}

export function handleAppend(r: RaftState, m: Message): void {
  if (m.index < r.log.committed) {
    // Everything up to our commit index matches the leader's log already (Log Matching).
    r.send({ type: 'append-response', to: m.from, term: r.term, index: r.log.committed });
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send({ type: 'append-response', to: m.from, term: r.term, index: lastNew });
    return;
  }
  // Consistency check failed. Hint where we might match so that the leader skips a whole term of
  // conflicting entries per round trip instead of one entry (§5.3, "fast back-up").
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send({
    type: 'append-response',
    to: m.from,
    term: r.term,
    index: m.index,
    reject: true,
    rejectHint: hint,
    hintTerm: r.log.term(hint) ?? 0,
  });
}

export function handleSnapshot(r: RaftState, m: Message): void {
  const snap = m.snapshot!;
  if (snap.index <= r.log.committed) {
    // Old news (a duplicate, or we caught up meanwhile).
  } else if (r.log.matchTerm(snap.index, snap.term)) {
    // Our log already holds the snapshot's last entry: keep the log, learn the commit.
    r.log.commitTo(snap.index);
  } else {
    r.log.restore(snap);
    r.voters = [...snap.conf.voters];
    r.learners = [...snap.conf.learners];
    r.events.push({ kind: 'conf-changed', conf: r.confState() });
  }
  r.send({ type: 'append-response', to: m.from, term: r.term, index: r.log.committed });
}

export function handleHeartbeat(r: RaftState, m: Message): void {
  // The leader sends min(match, commit): never past where our log is known to match its log.
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  r.send({ type: 'heartbeat-response', to: m.from, term: r.term, context: m.context });
}
