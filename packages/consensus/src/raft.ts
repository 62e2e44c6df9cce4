// A Raft node as a deterministic state machine (Ongaro & Ousterhout, Figure 2; thesis ch. 3, 6, 9).
// Inputs: step(message), tick(now), propose(data), readIndex(id). Output: Ready batches. The node
// never performs I/O, reads a clock or draws randomness on its own: time arrives through tick() and
// randomness through config.random, so one seed reproduces a whole simulated run.
//
// This is the public face (etcd's RawNode): the state is RaftState (state.ts), the rules live in a
// file per concern — step.ts (term rules), follower.ts, candidate.ts, leader.ts, elections.ts,
// replication.ts, read-index.ts, transfer.ts, membership.ts.
import type { RaftConfig, RaftOptions } from './config.js';
import { campaign, type CampaignKind } from './elections.js';
import { maybeCommit } from './leader.js';
import { applyConf, proposeConfChange } from './membership.js';
import { readIndex } from './read-index.js';
import { broadcastHeartbeat, flushAppendsEarly, flushLeaderMessages, reportSnapshot } from './replication.js';
import { RaftState } from './state.js';
import { leaderConnectionLost } from './follower.js';
import { advanceClock, nextTickDeadline, stepRaft, tickRaft } from './step.js';
import { transferLeadership, transferTarget } from './transfer.js';
import {
  NONE,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type Progress as ProgressView,
  type Ready,
  type SoftState,
  type Status,
  type Storage,
} from './types.js';

export class RaftNode {
  readonly config: RaftConfig;
  readonly id: NodeId;
  private readonly r: RaftState;
  // What the driver has been handed so far, to tell what the next Ready must carry.
  private prevSoft: SoftState = { role: 'follower', leaderId: NONE };
  private prevHard: HardState;
  /** Highest committed index handed out in a Ready (applied once that Ready is advanced). */
  private handedOut: number;
  /** The Ready in flight (between ready() and advance()) holds messages that wait for its persist. */
  private holdsMessages = false;

  constructor(
    options: RaftOptions,
    readonly storage: Storage,
  ) {
    this.r = new RaftState(options, storage);
    this.config = this.r.config;
    this.id = this.r.id;
    this.prevHard = this.r.hardState();
    this.handedOut = this.config.applied;
  }

  // ---- Inputs -------------------------------------------------------------------------------

  /** Advance the logical clock to nowMs: fires election timeouts, heartbeats and CheckQuorum. */
  tick(nowMs: number): void {
    tickRaft(this.r, nowMs);
  }

  /**
   * Moves the clock forward without acting on any deadline that passed: a driver whose event loop
   * stalled delivers the messages that waited meanwhile at the current time first (a follower hears the
   * heartbeat that is already in its socket, a leader the answers that prove its quorum), and only then
   * ticks. Otherwise its own stall would make a follower campaign against a live leader, or a leader
   * step down from a quorum that never went away.
   */
  observe(nowMs: number): void {
    advanceClock(this.r, nowMs);
  }

  /**
   * The earliest clock reading at which tick() has work (a heartbeat, an election timeout, a
   * CheckQuorum round, a transfer deadline): a driver may sleep until then instead of ticking at a
   * fixed rate. Any other input may move it, so ask again after each.
   */
  nextDeadline(): number {
    return nextTickDeadline(this.r);
  }

  /**
   * The driver saw its connection to peer `id` close (a crashed process closes its connections at
   * once). If `id` is this follower's leader, the election timeout is cut short; PreVote keeps that
   * safe (see follower.ts). Anything else is ignored.
   */
  peerDisconnected(id: NodeId): void {
    leaderConnectionLost(this.r, id);
  }

  /** Handle a message from a peer. Malformed, misaddressed or stale messages are dropped. */
  step(m: Message): void {
    stepRaft(this.r, m);
  }

  /** Leader only: append commands to the log. Entries are firstIndex, firstIndex+1, … in `term`. */
  propose(data: readonly Uint8Array[]): { firstIndex: number; term: number } {
    this.r.checkProposable();
    const firstIndex = this.r.log.lastIndex() + 1;
    this.r.appendEntries(data, 'normal');
    return { firstIndex, term: this.r.term };
  }

  /**
   * Leader only: propose a membership change, encoded by the driver as `data` (with the membership
   * it leads to, from changeConf). It takes effect when the driver applies the committed entry and
   * calls applyConf. One change at a time: the
   * previous one must be applied, and this leader must have committed an entry of its term (which
   * closes the single-server-change hazard Ongaro described in 2015).
   */
  proposeConfChange(data: Uint8Array): { index: number; term: number } {
    return proposeConfChange(this.r, data);
  }

  /**
   * The driver applies a committed configuration-change entry. The entry carries the whole new
   * membership (computed with changeConf when it was proposed), so that a node that joins knowing
   * no one learns the configuration from its log; the driver persists it with the applied index.
   */
  applyConf(conf: ConfState): void {
    applyConf(this.r, conf);
  }

  /**
   * Leader only: hand leadership to `to` (thesis §3.10): bring its log up to date, then tell it to
   * campaign at once. New proposals are refused meanwhile; the attempt is abandoned after an
   * election timeout.
   */
  transferLeadership(to: NodeId): void {
    transferLeadership(this.r, to);
  }

  /**
   * The voter a transfer should go to when the caller names none: the most caught-up voter other
   * than this node — the same choice a leader makes when it hands off after its own removal. NONE
   * when this node does not lead or no other voter exists.
   */
  transferTarget(): NodeId {
    return transferTarget(this.r);
  }

  /**
   * Leader only: a linearizable read (thesis §6.4). A ReadState with this requestId comes out in a
   * later Ready once leadership is confirmed; if leadership is lost first, none ever comes.
   */
  readIndex(requestId: number): void {
    readIndex(this.r, requestId);
  }

  /**
   * Leader's driver: how sending a snapshot to `to` ended. On failure the follower is probed again
   * (and gets the snapshot again if it still needs it); on success its answer moves it on.
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    reportSnapshot(this.r, to, ok);
  }

  /** Start an election now, as if the election timeout had fired. */
  campaign(kind: CampaignKind = this.config.preVote ? 'pre-vote' : 'vote', transfer = false): void {
    campaign(this.r, kind, transfer);
  }

  // ---- Output -------------------------------------------------------------------------------

  hasReady(): boolean {
    const r = this.r;
    return (
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.events.length > 0 ||
      r.appendsPending ||
      r.commitAdvanced ||
      r.probeNeeded.size > 0 ||
      r.readOnly.unsent !== undefined ||
      r.log.hasUnstable() ||
      r.log.unstableSnapshot() !== undefined ||
      r.log.committed > this.handedOut ||
      !sameSoft(r.softState(), this.prevSoft) ||
      !sameHard(r.hardState(), this.prevHard)
    );
  }

  /** The batch of work for the driver; see the ordering rule on `Ready`. Call advance() after it. */
  ready(): Ready {
    const r = this.r;
    flushLeaderMessages(r);
    const soft = r.softState();
    const hard = r.hardState();
    const hardChanged = !sameHard(hard, this.prevHard);
    const entries = r.log.unstableEntries();
    const snapshot = r.log.unstableSnapshot() ?? null;
    if (snapshot && snapshot.index > this.handedOut) this.handedOut = snapshot.index;
    const committedEntries =
      r.log.committed > this.handedOut ? r.log.entries(this.handedOut + 1, r.log.committed + 1, this.config.maxCommittedBytesPerReady) : [];
    this.handedOut = committedEntries.at(-1)?.index ?? this.handedOut;
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      snapshot,
      hardState: hardChanged ? hard : null,
      entries,
      committedEntries,
      messages: r.msgs,
      readStates: r.readStates,
      events: r.events,
      mustSync: entries.length > 0 || snapshot !== null || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
      messagesBeforePersist:
        r.role === 'leader' &&
        r.msgs.length > 0 &&
        hard.term === this.prevHard.term &&
        hard.vote === this.prevHard.vote &&
        r.msgs.every((m) => m.type === 'append' || m.type === 'heartbeat'),
    };
    r.msgs = [];
    r.readStates = [];
    r.events = [];
    this.holdsMessages = !rd.messagesBeforePersist && rd.messages.length > 0;
    return rd;
  }

  /**
   * Between ready() and advance(): the messages that promise nothing about this node's disk, to send
   * while the Ready's fsync runs, so a slow disk does not silence a leader for longer than an election
   * timeout. A leader's heartbeats (ReadIndex rounds too) and appends qualify (its own log counts
   * toward commit only after advance, §10.2.1) unless the Ready in flight holds messages they would overtake; a follower's
   * heartbeat responses qualify (they only say it is reachable). Nothing qualifies while this node's
   * term or vote is not yet durable, and nothing is taken unless every pending message qualifies.
   */
  takeMessagesBeforePersist(): readonly Message[] {
    const r = this.r;
    if (r.term !== this.prevHard.term || r.vote !== this.prevHard.vote) return [];
    let qualifies: (m: Message) => boolean;
    if (r.role === 'leader') {
      if (this.holdsMessages) return [];
      // Appends to replicating followers, so they write in parallel with us; a ReadIndex round's heartbeats.
      flushAppendsEarly(r);
      if (r.readOnly.unsent !== undefined) broadcastHeartbeat(r);
      qualifies = (m) => m.type === 'append' || m.type === 'heartbeat';
    } else qualifies = (m) => m.type === 'heartbeat-response';
    if (r.msgs.length === 0 || !r.msgs.every(qualifies)) return [];
    const out = r.msgs;
    r.msgs = [];
    return out;
  }

  /** The driver has persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    const r = this.r;
    this.holdsMessages = false;
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.snapshot) r.log.snapshotInstalled(rd.snapshot);
    const lastEntry = rd.entries.at(-1);
    if (lastEntry) r.log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = rd.committedEntries.at(-1);
    if (lastApplied) r.log.appliedTo(lastApplied.index);
    // The leader's own persist may complete a quorum (always so in a one-node cluster).
    if (r.role === 'leader' && lastEntry) maybeCommit(r);
  }

  status(): Status {
    const r = this.r;
    const progress: Record<NodeId, ProgressView> = {};
    if (r.role === 'leader') for (const [id, pr] of r.prs) progress[id] = pr.view();
    return {
      id: this.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leaderId: r.leaderId,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      conf: r.confState(),
      transferee: r.transferee,
      pendingConfIndex: r.pendingConfIndex > r.log.applied ? r.pendingConfIndex : 0,
      progress,
    };
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leaderId === b.leaderId;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
