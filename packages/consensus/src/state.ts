// The state of one Raft server (Figure 2) and what every role shares: the role transitions, the
// RequestVote receiver, the leader's append to its own log. The rules of each role act on it from
// follower.ts, candidate.ts and leader.ts; RaftNode (raft.ts) is its public face. Fields are open to
// the package's rule modules; nothing outside the package sees this class (internal.ts aside).
import { resolveConfig, type RaftConfig, type RaftOptions } from './config.js';
import { ConfigError, NotLeaderError, ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { message, type MessageFields } from './message.js';
import { Progress } from './progress.js';
import { ReadOnly } from './read-only.js';
import {
  NONE,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type RaftEvent,
  type ReadState,
  type Role,
  type SoftState,
  type Storage,
} from './types.js';

export class RaftState {
  readonly config: RaftConfig;
  readonly id: NodeId;

  // Persistent state (Figure 2), mirrored to storage through Ready.hardState.
  term: number;
  vote: NodeId;
  readonly log: RaftLog;

  // Volatile state.
  role: Role = 'follower';
  leaderId: NodeId = NONE;
  voters: readonly NodeId[];
  learners: readonly NodeId[];
  /** Leader only: replication progress of every other member. */
  prs = new Map<NodeId, Progress>();
  /** Candidate and pre-candidate: votes heard in this campaign. */
  readonly votes = new Map<NodeId, boolean>();
  readonly readOnly = new ReadOnly();
  /** Leader only: reads that wait for the first commit of this term (thesis §6.4, step 1). */
  readsAwaitingCommit: number[] = [];
  /** Leader only: the node we are handing leadership to (thesis §3.10), or NONE. */
  transferee: NodeId = NONE;
  transferDeadline = 0;
  /**
   * Leader only: index of the latest configuration change proposed; another may be proposed only
   * once it is applied (one change at a time, thesis §4.1).
   */
  pendingConfIndex = 0;

  // Clock.
  now: number;
  /** When our term last changed (or the node started): how far above it a message's term may be grows with it (step.ts). */
  termSince: number;
  electionDeadline = 0;
  /** electionDeadline was cut short because our leader's connection closed (follower.ts). */
  earlyElection = false;
  heartbeatDeadline = 0;
  checkQuorumDeadline = 0;
  /** Last time we heard from a live leader (or, on a leader, confirmed a quorum): the lease. */
  lastLeaderContact = -Infinity;

  // Output accumulated for the next Ready.
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  events: RaftEvent[] = [];
  /** Leader: new entries or a new commit index wait to be sent to followers at the next Ready. */
  appendsPending = false;
  commitAdvanced = false;
  /** Leader: followers that get an append at the next Ready even if it carries no entries (a probe). */
  readonly probeNeeded = new Set<NodeId>();

  constructor(
    options: RaftOptions,
    readonly storage: Storage,
  ) {
    this.config = resolveConfig(options);
    this.id = this.config.id;
    const { hardState, confState } = storage.initialState();
    this.voters = confState?.voters ?? this.config.peers;
    this.learners = confState?.learners ?? [];
    if (hardState.commit > storage.lastIndex()) {
      throw new ConfigError('storage', `commit ${hardState.commit} is beyond the last stored index ${storage.lastIndex()}`);
    }
    if (this.config.applied > hardState.commit) {
      throw new ConfigError('applied', `${this.config.applied} is beyond the persisted commit index ${hardState.commit}`);
    }
    if (this.config.applied < storage.firstIndex() - 1) {
      throw new ConfigError('applied', `${this.config.applied} is behind the snapshot at ${storage.firstIndex() - 1}`);
    }
    this.log = new RaftLog(storage, hardState.commit);
    this.log.applied = this.config.applied;
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.now = this.config.nowMs;
    this.termSince = this.now;
    this.resetElectionTimer();
  }

  // ---- RequestVote receiver (Figure 2, §5.2, §5.4.1; PreVote thesis §9.6) ---------------------

  handleVoteRequest(m: Message): void {
    const pre = m.type === 'pre-vote';
    const responseType: MessageType = pre ? 'pre-vote-response' : 'vote-response';
    // One vote per term; a pre-vote is for a future term and binds nothing.
    const canVote = this.vote === m.from || (this.vote === NONE && this.leaderId === NONE) || (pre && m.term > this.term);
    // Two survivors campaigning early at once (their leader's connection closed, follower.ts) would
    // grant each other's PreVote and split the vote: between them, only the lower id is granted.
    const yieldTo = !pre || !this.earlyElection || this.role !== 'pre-candidate' || m.from < this.id;
    if (canVote && yieldTo && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send({ type: responseType, to: m.from, term: m.term });
      if (!pre) {
        this.vote = m.from;
        this.resetElectionTimer();
        this.events.push({ kind: 'vote-granted', term: m.term, to: m.from });
      } else if (this.earlyElection) {
        // We were about to campaign early (or just began), but another survivor is ahead: leave it
        // the field, with a normal timeout in case it fails, rather than split the vote.
        if (this.role === 'pre-candidate') this.becomeFollower(this.term, NONE);
        this.resetElectionTimer();
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true });
      if (!pre) {
        const reason = canVote ? 'candidate log is not up to date' : `already voted for ${this.vote || this.leaderId}`;
        this.events.push({ kind: 'vote-rejected', term: m.term, to: m.from, reason });
      }
    }
  }

  // ---- Role transitions -----------------------------------------------------------------------

  becomeFollower(term: number, leaderId: NodeId): void {
    const wasLeader = this.role === 'leader';
    const changed = this.role !== 'follower' || term !== this.term || leaderId !== this.leaderId;
    if (term !== this.term) {
      this.term = term;
      this.termSince = this.now;
      this.vote = NONE;
    }
    this.role = 'follower';
    this.leaderId = leaderId;
    if (leaderId !== NONE) this.lastLeaderContact = this.now;
    // Figure 2: the election timeout runs from when we last heard from the current leader or
    // granted a vote, not from the last term change (etcd resets on every term change). So a
    // higher term from a vote request we do not grant, or from any message that is not a leader's,
    // keeps the deadline: otherwise a node that keeps campaigning with a stale log (one that thinks
    // it was removed, say) pushes back the timer of the one voter that could win, for good
    // (simulator, seed 20063 with --membership-heavy --nodes 5). Granting a vote resets it in
    // handleVoteRequest. A leader gets a fresh timer: it ran none while leading, and it was the
    // leader it last heard from, just now; keeping its stale deadline would make a deposed leader
    // campaign at once against the candidate that deposed it. A candidate or pre-candidate keeps
    // the deadline it drew when its campaign began (when it voted for itself), as in Figure 2,
    // where a candidate that loses or sees a higher term simply campaigns again when that timeout
    // elapses: a fresh draw would hand the race to whichever rival bumped its term last, the same
    // livelock one step earlier (a candidate with the better log losing to a stale one each time).
    if (leaderId !== NONE || wasLeader) this.resetElectionTimer();
    this.resetLeaderState();
    if (wasLeader) this.events.push({ kind: 'step-down', term, reason: 'stepped down to follower' });
    if (changed) this.events.push({ kind: 'became-follower', term, leaderId });
  }

  becomePreCandidate(): void {
    // Only the first round after the leader's connection closed is early: a survivor that failed it
    // (say its log is behind) must not keep refusing the others' PreVotes round after round, or two
    // survivors whose logs differ would refuse each other for ever.
    const early = this.earlyElection && this.role !== 'pre-candidate';
    this.role = 'pre-candidate';
    this.leaderId = NONE;
    this.votes.clear();
    this.resetElectionTimer();
    this.earlyElection = early; // the campaign is still the early one
    this.events.push({ kind: 'became-pre-candidate', term: this.term });
  }

  becomeCandidate(): void {
    this.term += 1;
    this.termSince = this.now;
    this.vote = this.id;
    this.role = 'candidate';
    this.leaderId = NONE;
    this.votes.clear();
    this.resetElectionTimer();
    this.events.push({ kind: 'became-candidate', term: this.term });
  }

  becomeLeader(): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.votes.clear();
    this.prs = new Map();
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.voters, ...this.learners]) {
      if (id === this.id) continue;
      const pr = new Progress(next, this.config.maxInflightMessages);
      pr.recentActive = true; // give every follower a full CheckQuorum round to answer
      this.prs.set(id, pr);
    }
    this.lastLeaderContact = this.now;
    this.checkQuorumDeadline = this.now + this.config.electionTimeoutMinMs;
    this.heartbeatDeadline = this.now + this.config.heartbeatIntervalMs;
    this.events.push({ kind: 'became-leader', term: this.term });
    // A no-op of our term: committing it commits everything before it (§5.4.2) and makes our
    // commit index current for ReadIndex (thesis §6.4).
    this.appendEntries([new Uint8Array(0)], 'normal');
    this.pendingConfIndex = this.log.lastIndex();
  }

  private resetLeaderState(): void {
    this.prs = new Map();
    this.votes.clear();
    this.readOnly.reset();
    this.readsAwaitingCommit = [];
    this.appendsPending = false;
    this.commitAdvanced = false;
    this.probeNeeded.clear();
    this.transferee = NONE;
    this.pendingConfIndex = 0;
  }

  resetElectionTimer(): void {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = this.config;
    this.electionDeadline = this.now + min + Math.floor(this.config.random() * (max - min));
    this.earlyElection = false;
  }

  // ---- The leader's own log -------------------------------------------------------------------

  /** Leader only: refuses new entries unless we lead and no transfer is under way (thesis §3.10). */
  checkProposable(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (this.transferee !== NONE) throw new ProposalDroppedError(`leadership is being transferred to ${this.transferee}`);
  }

  /** Appends to our log in the current term; followers get the entries at the next Ready. */
  appendEntries(data: readonly Uint8Array[], type: EntryType): void {
    const last = this.log.lastIndex();
    const entries: Entry[] = data.map((d, i) => ({ index: last + 1 + i, term: this.term, type, data: d }));
    this.log.append(entries);
    this.appendsPending = true;
  }

  // ---- Helpers --------------------------------------------------------------------------------

  /**
   * Voters campaign, and so does a node removed from a membership it knows (in neither list): the
   * voters that have not yet learned its removal is committed may need it to lead once, to learn
   * that (see handOff). Members that applied the removal ignore its vote requests. Learners, and
   * nodes that know no membership yet, never campaign.
   */
  promotable(): boolean {
    return this.voters.includes(this.id) || (this.voters.length > 0 && !this.learners.includes(this.id));
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  send(fields: MessageFields): void {
    this.msgs.push(message(this.id, fields));
  }

  softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}
