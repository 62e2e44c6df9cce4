// The vocabulary of the Raft core: what goes in (messages, ticks, proposals) and what comes out
// (Ready batches). Plain data only, so the driver can map it to any wire format and the simulator can
// copy it freely. Indexes and terms are JS numbers: exact up to 2^53, which no log reaches.

export type NodeId = string;

/** No node: an empty vote or an unknown leader. */
export const NONE: NodeId = '';

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export type MessageType =
  | 'vote'
  | 'vote-response'
  | 'pre-vote'
  | 'pre-vote-response'
  | 'append'
  | 'append-response'
  | 'heartbeat'
  | 'heartbeat-response'
  | 'timeout-now'
  | 'snapshot';

export type EntryType = 'normal' | 'conf-change';

/** A log entry. A normal entry with empty data is the leader's no-op. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash before any message that depends on it leaves the node (Figure 2). */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term`, or NONE. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** The cluster membership: voters count toward quorums, learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** What a snapshot covers: the state machine after applying `index` (of `term`), and the membership then. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/**
 * A single-server membership change (thesis ch. 4). Adding a voter goes through 'add-learner' first
 * so the new node catches up without counting toward quorums; 'add-voter' then promotes it.
 */
export interface ConfChange {
  readonly type: 'add-learner' | 'add-voter' | 'remove';
  readonly nodeId: NodeId;
}

/**
 * One Raft message. Every field is always present (zero when unused) so it maps 1:1 onto the peer
 * protobuf `raftkv.v1.Message`.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** append: term of the entry at `index` (the one before `entries`). vote/pre-vote: candidate's last log term. */
  readonly logTerm: number;
  /** append: index preceding `entries`. vote: candidate's last index. append-response: the follower's match or the rejected index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** append-response on reject: the highest index at which the follower's log might match. */
  readonly rejectHint: number;
  /** append-response on reject: the follower's term at rejectHint (fast back-up by term). */
  readonly hintTerm: number;
  /** heartbeat/heartbeat-response: the ReadIndex round this heartbeat confirms (0: none). */
  readonly context: number;
  /**
   * snapshot: which snapshot to install. The driver streams the snapshot's data alongside and steps
   * this message into the receiving core only once the data has arrived whole.
   */
  readonly snapshot?: SnapshotMeta;
}

/** A linearizable read that may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly requestId: number;
  readonly index: number;
}

/** Role and leader as seen by this node; not persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId;
}

/** Noteworthy transitions, for logs and status streams. Not needed for correctness. */
export type RaftEvent =
  | { readonly kind: 'became-follower'; readonly term: number; readonly leaderId: NodeId }
  | { readonly kind: 'became-pre-candidate'; readonly term: number }
  | { readonly kind: 'became-candidate'; readonly term: number }
  | { readonly kind: 'became-leader'; readonly term: number }
  | { readonly kind: 'term-changed'; readonly from: number; readonly to: number; readonly cause: NodeId }
  | { readonly kind: 'vote-granted'; readonly term: number; readonly to: NodeId }
  | { readonly kind: 'vote-rejected'; readonly term: number; readonly to: NodeId; readonly reason: string }
  | { readonly kind: 'step-down'; readonly term: number; readonly reason: string }
  | { readonly kind: 'log-truncated'; readonly fromIndex: number }
  | { readonly kind: 'message-dropped'; readonly from: NodeId; readonly reason: string }
  | { readonly kind: 'transfer-started'; readonly term: number; readonly to: NodeId }
  | { readonly kind: 'transfer-aborted'; readonly term: number; readonly to: NodeId; readonly reason: string }
  | { readonly kind: 'conf-changed'; readonly conf: ConfState };

/**
 * The batch of work the driver takes from the core, then acknowledges with `advance(ready)`.
 *
 * The ordering rule (the driver's contract):
 *   0. If `snapshot` is set: replace the state machine with that snapshot's data, discard the whole
 *      log and remember the snapshot's index, term and membership (Storage.snapshotMeta).
 *   1. Persist: if `entries` is non-empty, first discard every stored entry with index >=
 *      entries[0].index, then append `entries`; store `hardState` if set. Both in one durable write
 *      (fsync when `mustSync`), before anything else.
 *   2. Send `messages`, in order per destination. They may promise what step 1 wrote (a vote, an
 *      append acknowledgement), so never before step 1 is durable.
 *   3. Apply `committedEntries` in order; answer `readStates` once applied >= their index.
 *   4. Call `advance(ready)`; only then ask for the next Ready.
 * A leader counts its own log toward commit only after `advance`, i.e. after its own persist; so a
 * leader's append and heartbeat messages may be sent before step 1 when `messagesBeforePersist`.
 * step/tick/propose/readIndex may be called between ready() and advance(); ready() may not.
 */
export interface Ready {
  readonly softState: SoftState | null;
  /** A snapshot received from the leader: install its data (replacing the state machine and the log) first. */
  readonly snapshot: SnapshotMeta | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly events: readonly RaftEvent[];
  readonly mustSync: boolean;
  /**
   * True when `messages` may be sent before step 1: this node leads, every message is an append or a
   * heartbeat, and the Ready changes neither term nor vote (thesis §10.2.1). A leader that won in the
   * same Ready that raised its term (a one-voter cluster) must persist that term first.
   */
  readonly messagesBeforePersist: boolean;
}

/**
 * The core's read-only view of the durable log. The driver writes to it while handling a Ready;
 * the core only reads. Every method is synchronous and deterministic.
 */
export interface Storage {
  /** Hard state and membership as they were persisted. */
  initialState(): { hardState: HardState; confState: ConfState | null };
  /** Index of the first entry still held (1 on a log never compacted); term(firstIndex - 1) is still known. */
  firstIndex(): number;
  /** Index of the last entry held (firstIndex - 1 when empty). */
  lastIndex(): number;
  /** Term of the entry at `index`, for firstIndex - 1 <= index <= lastIndex (0 for index 0). */
  term(index: number): number;
  /** Entries in [lo, hi), at least one if lo < hi, then stopping before maxBytes of data are exceeded. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The latest snapshot (index 0 when there is none): what a follower that fell behind the log gets. */
  snapshotMeta(): SnapshotMeta;
}

export interface Progress {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
  readonly inflight: number;
}

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leaderId: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  /** Leader: the node leadership is being transferred to, or NONE. */
  readonly transferee: NodeId;
  /** Leader: a configuration change at this index is not yet applied (0 when none). */
  readonly pendingConfIndex: number;
  /** Only on a leader: replication progress per peer. */
  readonly progress: Readonly<Record<NodeId, Progress>>;
}
