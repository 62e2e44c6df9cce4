// A Raft node as a deterministic state machine (Ongaro & Ousterhout, Figure 2; thesis ch. 3, 6, 9).
// Inputs: step(message), tick(now), propose(data), readIndex(id). Output: Ready batches. The node
// never performs I/O, reads a clock or draws randomness on its own: time arrives through tick() and
// randomness through config.random, so one seed reproduces a whole simulated run.
import { resolveConfig, type RaftConfig, type RaftOptions } from './config.js';
import { ConfigError, InvalidRequestError, NotLeaderError, ProposalDroppedError } from './errors.js';
import { RaftLog } from './log.js';
import { malformed, message, type MessageFields } from './message.js';
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteResult } from './quorum.js';
import { ReadOnly } from './read-only.js';
import {
  NONE,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type Progress as ProgressView,
  type RaftEvent,
  type ReadState,
  type Ready,
  type Role,
  type SoftState,
  type Status,
  type Storage,
} from './types.js';

/** `context` on a vote request whose campaign a leadership transfer forced: it bypasses leases. */
const CAMPAIGN_TRANSFER = 1;

type CampaignKind = 'pre-vote' | 'vote';

export class RaftNode {
  readonly config: RaftConfig;
  readonly id: NodeId;

  // Persistent state (Figure 2), mirrored to storage through Ready.hardState.
  private term: number;
  private vote: NodeId;
  private readonly log: RaftLog;

  // Volatile state.
  private role: Role = 'follower';
  private leaderId: NodeId = NONE;
  private voters: readonly NodeId[];
  private learners: readonly NodeId[];
  /** Leader only: replication progress of every other member. */
  private prs = new Map<NodeId, Progress>();
  /** Candidate and pre-candidate: votes heard in this campaign. */
  private votes = new Map<NodeId, boolean>();
  private readonly readOnly = new ReadOnly();
  /** Leader only: reads that wait for the first commit of this term (thesis §6.4, step 1). */
  private readsAwaitingCommit: number[] = [];
  /** Leader only: the node we are handing leadership to (thesis §3.10), or NONE. */
  private transferee: NodeId = NONE;
  private transferDeadline = 0;
  /**
   * Leader only: index of the latest configuration change proposed; another may be proposed only
   * once it is applied (one change at a time, thesis §4.1).
   */
  private pendingConfIndex = 0;

  // Clock.
  private now: number;
  private electionDeadline = 0;
  private heartbeatDeadline = 0;
  private checkQuorumDeadline = 0;
  /** Last time we heard from a live leader (or, on a leader, confirmed a quorum): the lease. */
  private lastLeaderContact = -Infinity;

  // Output accumulated for the next Ready.
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private events: RaftEvent[] = [];
  /** Leader: new entries or a new commit index wait to be sent to followers at the next Ready. */
  private appendsPending = false;
  private commitAdvanced = false;
  /** Leader: followers that get an append at the next Ready even if it carries no entries (a probe). */
  private probeNeeded = new Set<NodeId>();
  private prevSoft: SoftState = { role: 'follower', leaderId: NONE };
  private prevHard: HardState;
  /** Highest committed index handed out in a Ready (applied once that Ready is advanced). */
  private handedOut: number;

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
    this.handedOut = this.config.applied;
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHard = hardState;
    this.now = this.config.nowMs;
    this.resetElectionTimer();
  }

  // ---- Inputs -------------------------------------------------------------------------------

  /** Advance the logical clock to nowMs: fires election timeouts, heartbeats and CheckQuorum. */
  tick(nowMs: number): void {
    if (nowMs > this.now) this.now = nowMs;
    if (this.role === 'leader') this.tickLeader();
    else if (this.now >= this.electionDeadline) {
      if (this.promotable()) this.campaign(this.config.preVote ? 'pre-vote' : 'vote');
      else this.resetElectionTimer();
    }
  }

  /** Handle a message from a peer. Malformed, misaddressed or stale messages are dropped. */
  step(m: Message): void {
    const bad =
      malformed(m) ??
      (m.to !== this.id ? `addressed to ${m.to}` : undefined) ??
      (m.from === this.id ? 'from ourselves' : undefined) ??
      // A node outside the configuration (e.g. removed) must not disrupt the cluster with elections.
      // A node that knows no configuration yet (just joined) cannot tell, and answers: the cluster
      // may need its vote to elect the leader that will tell it the configuration. Nor can a node
      // whose configuration may be stale: a candidate whose log goes past what we have applied may
      // be a voter in a configuration we have not applied yet (one that adds it, perhaps while we
      // were partitioned away) and need our vote.
      ((m.type === 'vote' || m.type === 'pre-vote') && this.voters.length > 0 && !this.voters.includes(m.from) && m.index <= this.log.applied
        ? `vote request from non-voter ${m.from}`
        : undefined);
    if (bad !== undefined) {
      this.events.push({ kind: 'message-dropped', from: String(m.from), reason: bad });
      return;
    }
    if (!this.stepTerm(m)) return;
    if (m.type === 'vote' || m.type === 'pre-vote') return this.handleVoteRequest(m);
    switch (this.role) {
      case 'leader':
        return this.stepLeader(m);
      case 'candidate':
      case 'pre-candidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
    }
  }

  /** Leader only: append commands to the log. Entries are firstIndex, firstIndex+1, … in `term`. */
  propose(data: readonly Uint8Array[]): { firstIndex: number; term: number } {
    this.checkProposable();
    const firstIndex = this.log.lastIndex() + 1;
    this.appendEntries(data, 'normal');
    return { firstIndex, term: this.term };
  }

  /**
   * Leader only: propose a membership change, encoded by the driver as `data` (with the membership
   * it leads to, from changeConf). It takes effect when the driver applies the committed entry and
   * calls applyConf. One change at a time: the
   * previous one must be applied, and this leader must have committed an entry of its term (which
   * closes the single-server-change hazard Ongaro described in 2015).
   */
  proposeConfChange(data: Uint8Array): { index: number; term: number } {
    this.checkProposable();
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError(`a configuration change (index ${this.pendingConfIndex}) is still in progress`);
    }
    const index = this.log.lastIndex() + 1;
    this.appendEntries([data], 'conf-change');
    this.pendingConfIndex = index;
    return { index, term: this.term };
  }

  /**
   * The driver applies a committed configuration-change entry. The entry carries the whole new
   * membership (computed with changeConf when it was proposed), so that a node that joins knowing
   * no one learns the configuration from its log; the driver persists it with the applied index.
   */
  applyConf(conf: ConfState): void {
    if (conf.voters.length === 0) return; // cannot be proposed (changeConf refuses it); never adopt it
    this.voters = [...conf.voters];
    this.learners = [...conf.learners];
    this.events.push({ kind: 'conf-changed', conf: this.confState() });
    if (this.role === 'leader') this.leaderConfChanged();
  }

  /**
   * Leader only: hand leadership to `to` (thesis §3.10): bring its log up to date, then tell it to
   * campaign at once. New proposals are refused meanwhile; the attempt is abandoned after an
   * election timeout.
   */
  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (to === this.id) return;
    if (!this.voters.includes(to)) throw new InvalidRequestError(`cannot transfer leadership to ${to}: not a voter`);
    if (this.transferee === to) return;
    if (this.transferee !== NONE) this.abortTransfer('superseded by a transfer to ' + to);
    this.transferee = to;
    this.transferDeadline = this.now + this.config.electionTimeoutMinMs;
    this.events.push({ kind: 'transfer-started', term: this.term, to });
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', to, term: this.term });
    else this.appendsPending = true;
  }

  /**
   * Leader only: a linearizable read (thesis §6.4). A ReadState with this requestId comes out in a
   * later Ready once leadership is confirmed; if leadership is lost first, none ever comes.
   */
  readIndex(requestId: number): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (this.log.term(this.log.committed) !== this.term) {
      this.readsAwaitingCommit.push(requestId);
    } else {
      this.addRead(requestId);
    }
  }

  /**
   * Leader's driver: how sending a snapshot to `to` ended. On failure the follower is probed again
   * (and gets the snapshot again if it still needs it); on success its answer moves it on.
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.prs.get(to);
    if (this.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return;
    // Probe either way (as etcd does): staying in the snapshot state would pause the follower for
    // good if its answer to the snapshot was lost, or if the snapshot was stale when it landed.
    const pending = pr.pendingSnapshot;
    pr.becomeProbe();
    if (ok) pr.next = Math.max(pr.next, pending + 1); // it holds the snapshot now
    pr.probeSent = true; // wait for its answer or the next heartbeat round before sending again
  }

  /** Start an election now, as if the election timeout had fired. */
  campaign(kind: CampaignKind = this.config.preVote ? 'pre-vote' : 'vote', transfer = false): void {
    if (this.role === 'leader' || !this.promotable()) return;
    let voteTerm: number;
    if (kind === 'pre-vote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.pollVotes(transfer)) return;
    for (const to of this.voters) {
      if (to === this.id) continue;
      this.send({
        type: kind,
        to,
        term: voteTerm,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context: transfer ? CAMPAIGN_TRANSFER : 0,
      });
    }
  }

  // ---- Output -------------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.events.length > 0 ||
      this.appendsPending ||
      this.commitAdvanced ||
      this.probeNeeded.size > 0 ||
      this.readOnly.unsent !== undefined ||
      this.log.hasUnstable() ||
      this.log.unstableSnapshot() !== undefined ||
      this.log.committed > this.handedOut ||
      !sameSoft(this.softState(), this.prevSoft) ||
      !sameHard(this.hardState(), this.prevHard)
    );
  }

  /** The batch of work for the driver; see the ordering rule on `Ready`. Call advance() after it. */
  ready(): Ready {
    this.flushLeaderMessages();
    const soft = this.softState();
    const hard = this.hardState();
    const hardChanged = !sameHard(hard, this.prevHard);
    const entries = this.log.unstableEntries();
    const snapshot = this.log.unstableSnapshot() ?? null;
    if (snapshot && snapshot.index > this.handedOut) this.handedOut = snapshot.index;
    const committedEntries =
      this.log.committed > this.handedOut
        ? this.log.entries(this.handedOut + 1, this.log.committed + 1, this.config.maxCommittedBytesPerReady)
        : [];
    this.handedOut = committedEntries.at(-1)?.index ?? this.handedOut;
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      snapshot,
      hardState: hardChanged ? hard : null,
      entries,
      committedEntries,
      messages: this.msgs,
      readStates: this.readStates,
      events: this.events,
      mustSync: entries.length > 0 || snapshot !== null || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
      messagesBeforePersist:
        this.role === 'leader' &&
        this.msgs.length > 0 &&
        hard.term === this.prevHard.term &&
        hard.vote === this.prevHard.vote &&
        this.msgs.every((m) => m.type === 'append' || m.type === 'heartbeat'),
    };
    this.msgs = [];
    this.readStates = [];
    this.events = [];
    return rd;
  }

  /** The driver has persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.snapshot) this.log.snapshotInstalled(rd.snapshot);
    const lastEntry = rd.entries.at(-1);
    if (lastEntry) this.log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = rd.committedEntries.at(-1);
    if (lastApplied) this.log.appliedTo(lastApplied.index);
    // The leader's own persist may complete a quorum (always so in a one-node cluster).
    if (this.role === 'leader' && lastEntry) this.maybeCommit();
  }

  status(): Status {
    const progress: Record<NodeId, ProgressView> = {};
    if (this.role === 'leader') for (const [id, pr] of this.prs) progress[id] = pr.view();
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      conf: this.confState(),
      transferee: this.transferee,
      pendingConfIndex: this.pendingConfIndex > this.log.applied ? this.pendingConfIndex : 0,
      progress,
    };
  }

  // ---- Term rules common to every role (Figure 2 "Rules for Servers", thesis §9.6) ------------

  /** Applies the term rules; returns false when the message is consumed (or ignored) here. */
  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if ((m.type === 'vote' || m.type === 'pre-vote') && m.context !== CAMPAIGN_TRANSFER && this.inLease()) {
        // We heard from a live leader within the minimum election timeout: a node that asks for our
        // vote is partitioned or slow, and must not depose a healthy leader (thesis §4.2.3).
        return false;
      }
      if (m.type === 'pre-vote' || (m.type === 'pre-vote-response' && !m.reject)) {
        // A pre-vote is for a future term and changes nothing here.
        return true;
      }
      this.events.push({ kind: 'term-changed', from: this.term, to: m.term, cause: m.from });
      this.becomeFollower(m.term, m.type === 'append' || m.type === 'heartbeat' ? m.from : NONE);
      return true;
    }
    if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // A stale leader, cut off by a partition: our term tells it to step down (Figure 2: reply
        // false with currentTerm). Without this a node that never bumps its term (PreVote) could
        // leave that leader in place for good, and a node whose campaigns nobody hears (a learner
        // that was once removed) would ignore the leader's appends for good.
        this.send({ type: 'append-response', to: m.from, term: this.term });
      } else if (m.type === 'pre-vote' || m.type === 'vote') {
        // Figure 2: a vote request of a lower term is refused with our term, so the candidate
        // catches up (etcd ignores it). Otherwise a candidate that no one with a higher term
        // campaigns to can fall behind for good: it times out no faster than the voter it needs,
        // which keeps raising its term through campaigns of its own and others' and drops each of
        // its requests as stale (simulator, seed 20312 with --membership-heavy --nodes 5, once
        // higher terms stopped restarting election timers).
        this.send({ type: m.type === 'vote' ? 'vote-response' : 'pre-vote-response', to: m.from, term: this.term, reject: true });
      }
      return false;
    }
    return true;
  }

  private inLease(): boolean {
    return (
      this.config.checkQuorum &&
      this.leaderId !== NONE &&
      this.now - this.lastLeaderContact < this.config.electionTimeoutMinMs
    );
  }

  // ---- Elections (§5.2, §5.4.1; PreVote thesis §9.6) ------------------------------------------

  private handleVoteRequest(m: Message): void {
    const pre = m.type === 'pre-vote';
    const responseType: MessageType = pre ? 'pre-vote-response' : 'vote-response';
    // One vote per term; a pre-vote is for a future term and binds nothing.
    const canVote = this.vote === m.from || (this.vote === NONE && this.leaderId === NONE) || (pre && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send({ type: responseType, to: m.from, term: m.term });
      if (!pre) {
        this.vote = m.from;
        this.resetElectionTimer();
        this.events.push({ kind: 'vote-granted', term: m.term, to: m.from });
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true });
      if (!pre) {
        const reason = canVote ? 'candidate log is not up to date' : `already voted for ${this.vote || this.leaderId}`;
        this.events.push({ kind: 'vote-rejected', term: m.term, to: m.from, reason });
      }
    }
  }

  private stepCandidate(m: Message): void {
    const responseType: MessageType = this.role === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
    switch (m.type) {
      case 'append':
        // §5.2: a leader of our term exists.
        this.becomeFollower(this.term, m.from);
        return this.handleAppend(m);
      case 'heartbeat':
        this.becomeFollower(this.term, m.from);
        return this.handleHeartbeat(m);
      case 'snapshot':
        this.becomeFollower(this.term, m.from);
        return this.handleSnapshot(m);
      case responseType: {
        if (this.role === 'pre-candidate' && !m.reject && m.term !== this.term + 1) return;
        this.votes.set(m.from, !m.reject);
        this.pollVotes(false);
        return;
      }
      default:
        return;
    }
  }

  /** Acts on the votes so far; returns true when the campaign is decided. */
  private pollVotes(transfer: boolean): boolean {
    switch (voteResult(this.voters, this.votes)) {
      case 'won':
        if (this.role === 'pre-candidate') this.campaign('vote', transfer);
        else this.becomeLeader();
        return true;
      case 'lost':
        this.becomeFollower(this.term, NONE);
        return true;
      case 'pending':
        return false;
    }
  }

  // ---- Followers (§5.3) -----------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.heardFromLeader(m.from);
        return this.handleAppend(m);
      case 'heartbeat':
        this.heardFromLeader(m.from);
        return this.handleHeartbeat(m);
      case 'snapshot':
        this.heardFromLeader(m.from);
        return this.handleSnapshot(m);
      case 'timeout-now':
        // Leadership transfer (thesis §3.10): campaign at once, skipping PreVote and leases.
        return this.campaign('vote', true);
      default:
        return;
    }
  }

  private heardFromLeader(from: NodeId): void {
    this.leaderId = from;
    this.lastLeaderContact = this.now;
    this.resetElectionTimer();
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      // Everything up to our commit index matches the leader's log already (Log Matching).
      this.send({ type: 'append-response', to: m.from, term: this.term, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: 'append-response', to: m.from, term: this.term, index: lastNew });
      return;
    }
    // Consistency check failed. Hint where we might match so that the leader skips a whole term of
    // conflicting entries per round trip instead of one entry (§5.3, "fast back-up").
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: 'append-response',
      to: m.from,
      term: this.term,
      index: m.index,
      reject: true,
      rejectHint: hint,
      hintTerm: this.log.term(hint) ?? 0,
    });
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot!;
    if (snap.index <= this.log.committed) {
      // Old news (a duplicate, or we caught up meanwhile).
    } else if (this.log.matchTerm(snap.index, snap.term)) {
      // Our log already holds the snapshot's last entry: keep the log, learn the commit.
      this.log.commitTo(snap.index);
    } else {
      this.log.restore(snap);
      this.voters = [...snap.conf.voters];
      this.learners = [...snap.conf.learners];
      this.events.push({ kind: 'conf-changed', conf: this.confState() });
    }
    this.send({ type: 'append-response', to: m.from, term: this.term, index: this.log.committed });
  }

  private handleHeartbeat(m: Message): void {
    // The leader sends min(match, commit): never past where our log is known to match its log.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeat-response', to: m.from, term: this.term, context: m.context });
  }

  // ---- Leaders (§5.3, §5.4.2, thesis §6.2, §6.4) ------------------------------------------------

  private tickLeader(): void {
    if (this.config.checkQuorum && this.now >= this.checkQuorumDeadline) {
      this.checkQuorumDeadline = this.now + this.config.electionTimeoutMinMs;
      const active = hasQuorum(this.voters, (v) => v === this.id || this.prs.get(v)?.recentActive === true);
      for (const pr of this.prs.values()) pr.recentActive = false;
      if (!active) {
        this.events.push({ kind: 'step-down', term: this.term, reason: 'no quorum heard within an election timeout' });
        this.becomeFollower(this.term, NONE);
        return;
      }
      this.lastLeaderContact = this.now;
    }
    if (this.transferee !== NONE && this.now >= this.transferDeadline) {
      this.abortTransfer('the target did not take over within an election timeout');
      if (!this.voters.includes(this.id)) this.handOff(); // try again, perhaps with another voter
    }
    if (this.now >= this.heartbeatDeadline) {
      this.heartbeatDeadline = this.now + this.config.heartbeatIntervalMs;
      this.broadcastHeartbeat();
    }
  }

  private abortTransfer(reason: string): void {
    this.events.push({ kind: 'transfer-aborted', term: this.term, to: this.transferee, reason });
    this.transferee = NONE;
  }

  /** Membership changed under a leader: track new members, forget removed ones, re-count quorums. */
  private leaderConfChanged(): void {
    const members = new Set([...this.voters, ...this.learners]);
    for (const id of members) {
      if (id !== this.id && !this.prs.has(id)) {
        const pr = new Progress(this.log.lastIndex() + 1, this.config.maxInflightMessages);
        pr.recentActive = true;
        this.prs.set(id, pr);
        this.probeNeeded.add(id);
      }
    }
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    if (this.transferee !== NONE && !this.voters.includes(this.transferee)) this.abortTransfer('the target was removed');
    this.maybeCommit();
    this.appendsPending = true;
    // Our own removal is committed (§4.2.2): hand over to a remaining voter (maybeCommit did, if it advanced).
    if (!this.voters.includes(this.id)) this.handOff();
  }

  /**
   * A leader that is not a voter (its removal is committed, or it won as a removed node, see
   * promotable) hands leadership to the most caught-up voter instead of just stepping down: the
   * other voters adopt the new membership only once they learn that it is committed, and until
   * then they still need this node's vote, which it refuses them while its log is ahead of theirs.
   * The transfer first brings the target's log level with ours (thesis §3.10).
   */
  private handOff(): void {
    if (this.role !== 'leader' || this.transferee !== NONE) return;
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const v of this.voters) {
      const pr = this.prs.get(v);
      if (pr !== undefined && pr.match > bestMatch) [best, bestMatch] = [v, pr.match];
    }
    if (best !== NONE) return this.transferLeadership(best);
    this.events.push({ kind: 'step-down', term: this.term, reason: 'removed from the configuration' });
    this.becomeFollower(this.term, NONE);
  }

  private stepLeader(m: Message): void {
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case 'append-response':
        pr.recentActive = true;
        return this.handleAppendResponse(m, pr);
      case 'heartbeat-response': {
        pr.recentActive = true;
        // The follower is reachable: retry a lost probe, and unclog a window of appends that were
        // lost on the way (their acks will never come). If the follower lacks what we think is in
        // flight, the probe is rejected and we back up (§5.3).
        pr.probeSent = false;
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
        if (pr.match < this.log.lastIndex()) this.probeNeeded.add(m.from);
        this.readStates.push(...this.readOnly.ack(m.from, m.context, this.voters));
        return;
      }
      default:
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      const hint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.hintTerm) : m.rejectHint;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.appendsPending = true;
      }
      return;
    }
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot') {
        if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
      } else pr.inflights.freeLE(m.index);
      this.maybeCommit();
      this.appendsPending = true;
      if (m.from === this.transferee && pr.match === this.log.lastIndex()) {
        this.send({ type: 'timeout-now', to: m.from, term: this.term });
      }
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
  }

  /** §5.3/§5.4.2: commit the highest index stored on a majority, if it is of our term (Figure 8). */
  private maybeCommit(): void {
    const index = committedIndex(this.voters, (v) => (v === this.id ? this.log.persistedIndex() : (this.prs.get(v)?.match ?? 0)));
    if (!this.log.maybeCommit(index, this.term)) return;
    this.commitAdvanced = true;
    this.appendsPending = true;
    // The first commit of our term makes our commit index current: queued reads can proceed.
    const waiting = this.readsAwaitingCommit;
    this.readsAwaitingCommit = [];
    for (const id of waiting) this.addRead(id);
    if (!this.voters.includes(this.id)) this.handOff();
  }

  private addRead(requestId: number): void {
    if (this.voters.length === 1 && this.voters[0] === this.id) {
      this.readStates.push({ requestId, index: this.log.committed });
    } else {
      this.readOnly.add(requestId, this.log.committed, this.id);
    }
  }

  private appendEntries(data: readonly Uint8Array[], type: EntryType): void {
    const last = this.log.lastIndex();
    const entries: Entry[] = data.map((d, i) => ({ index: last + 1 + i, term: this.term, type, data: d }));
    this.log.append(entries);
    this.appendsPending = true;
  }

  /**
   * Sends what each follower is missing, as far as its window allows: proposals made since the last
   * Ready travel together (batching), and replicating followers get new entries without waiting
   * for earlier acks (pipelining, bounded by maxInflightMessages).
   */
  private flushLeaderMessages(): void {
    if (this.role !== 'leader') return;
    if (this.appendsPending || this.probeNeeded.size > 0) {
      for (const [to, pr] of this.prs) {
        const probe = this.probeNeeded.has(to);
        if (!this.appendsPending && !probe) continue;
        let sent = false;
        while (this.sendAppend(to, pr, false)) sent = true;
        // Followers learn the commit index from the next append (§5.3); send an empty one if needed.
        if (!sent && (this.commitAdvanced || probe)) this.sendAppend(to, pr, true);
      }
      this.appendsPending = false;
      this.commitAdvanced = false;
      this.probeNeeded.clear();
    }
    if (this.readOnly.unsent !== undefined) this.broadcastHeartbeat();
  }

  private sendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) {
      // What the follower needs next was compacted away: only a snapshot can bring it up to date.
      const snapshot = this.storage.snapshotMeta();
      this.send({ type: 'snapshot', to, term: this.term, snapshot });
      pr.becomeSnapshot(snapshot.index);
      return true;
    }
    const entries = this.log.entries(pr.next, this.log.lastIndex() + 1, this.config.maxMessageBytes);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'append', to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    const last = entries.at(-1);
    if (last) pr.sentTo(last.index);
    else if (pr.state === 'probe') pr.probeSent = true;
    return true;
  }

  private broadcastHeartbeat(): void {
    const context = this.readOnly.latestCtx();
    this.readOnly.unsent = undefined;
    for (const [to, pr] of this.prs) {
      this.send({ type: 'heartbeat', to, term: this.term, commit: Math.min(pr.match, this.log.committed), context });
    }
  }

  // ---- Role transitions -----------------------------------------------------------------------

  private becomeFollower(term: number, leaderId: NodeId): void {
    const wasLeader = this.role === 'leader';
    const changed = this.role !== 'follower' || term !== this.term || leaderId !== this.leaderId;
    if (term !== this.term) {
      this.term = term;
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

  private becomePreCandidate(): void {
    this.role = 'pre-candidate';
    this.leaderId = NONE;
    this.votes.clear();
    this.resetElectionTimer();
    this.events.push({ kind: 'became-pre-candidate', term: this.term });
  }

  private becomeCandidate(): void {
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.leaderId = NONE;
    this.votes.clear();
    this.resetElectionTimer();
    this.events.push({ kind: 'became-candidate', term: this.term });
  }

  private becomeLeader(): void {
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

  private resetElectionTimer(): void {
    const { electionTimeoutMinMs: min, electionTimeoutMaxMs: max } = this.config;
    this.electionDeadline = this.now + min + Math.floor(this.config.random() * (max - min));
  }

  // ---- Helpers --------------------------------------------------------------------------------

  /**
   * Voters campaign, and so does a node removed from a membership it knows (in neither list): the
   * voters that have not yet learned its removal is committed may need it to lead once, to learn
   * that (see handOff). Members that applied the removal ignore its vote requests. Learners, and
   * nodes that know no membership yet, never campaign.
   */
  private promotable(): boolean {
    return this.voters.includes(this.id) || (this.voters.length > 0 && !this.learners.includes(this.id));
  }

  private confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  private checkProposable(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (this.transferee !== NONE) throw new ProposalDroppedError(`leadership is being transferred to ${this.transferee}`);
  }

  private send(fields: MessageFields): void {
    this.msgs.push(message(this.id, fields));
  }

  private softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leaderId === b.leaderId;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
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
