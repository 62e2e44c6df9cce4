// The follower (§5.3): the receiver side of AppendEntries, heartbeats and InstallSnapshot (ch. 5),
// and TimeoutNow (thesis §3.10). A candidate that hears from a leader of its term uses the same
// receivers once it has stepped down (candidate.ts).
import { campaign } from './elections.js';
import type { RaftState } from './state.js';
import { NONE, type Message, type NodeId } from './types.js';

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

/**
 * The driver saw the connection to `id` close. A crashed process closes its connections at once, so
 * when `id` is our leader it is most likely gone: we forget it and its lease (so that we grant
 * PreVotes) and cut our election timeout short instead of waiting out the full one. Safety does not
 * rest on this: it only moves an election earlier, and PreVote still needs a majority that sees no
 * live leader (a leader that is alive keeps its other followers in its lease and refuses itself).
 * A partition closes nothing and keeps the normal timing. The survivors draw from windows staggered
 * by their rank among the other voters, so that two of them rarely campaign at the same moment and
 * split the vote.
 */
export function leaderConnectionLost(r: RaftState, id: NodeId): void {
  if (r.role !== 'follower' || id === NONE || r.leaderId !== id) return;
  r.leaderId = NONE;
  r.lastLeaderContact = -Infinity;
  const others = r.voters.filter((v) => v !== id).sort();
  const rank = Math.max(0, others.indexOf(r.id));
  // Rank 0 waits a little (the others may not have seen the close yet, and would refuse while they
  // still hold the leader's lease), then up to a quarter slot more; rank 1 a whole slot later.
  const slot = Math.floor(r.config.electionTimeoutMinMs / 3);
  const deadline = r.now + rank * slot + Math.floor(slot / 8 + r.config.random() * (slot / 4));
  if (deadline < r.electionDeadline) {
    r.electionDeadline = deadline;
    r.earlyElection = true;
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
