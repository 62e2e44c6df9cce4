// One simulated server: a RaftNode over a MemoryStorage, and the driver loop that follows the Ready
// contract exactly (persist → send → apply → advance). A crash throws away the RaftNode and the
// applied state; a restart builds a new RaftNode over the same storage, so only what was persisted
// survives.
import {
  MemoryStorage,
  NONE,
  RaftNode,
  type HardState,
  type Message,
  type NodeId,
  type RaftOptions,
  type Ready,
  type Role,
} from '../../src/index.js';
import type { Rng } from './rng.js';
import type { SafetyChecker } from './checker.js';
import { violated } from './violation.js';

/** RaftOptions minus what the simulator supplies itself (identity, membership, clock, randomness). */
export type RaftTuning = Omit<RaftOptions, 'id' | 'peers' | 'random' | 'nowMs'>;

export interface NodeEnv {
  readonly nowMs: number;
  readonly checker: SafetyChecker;
  send(msg: Message): void;
  trace(line: string): void;
  onTornCrash(): void;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };
/** A core that keeps producing Readies without input is stuck in a loop. */
const MAX_READIES_PER_INPUT = 10_000;

export class SimNode {
  readonly storage = new MemoryStorage();
  raft: RaftNode | null = null;
  /** Bumped on every start, so stale per-incarnation bookkeeping can be told apart. */
  incarnation = 0;
  /** Role and leader as last reported by the core in a Ready's softState. */
  role: Role = 'follower';
  leaderId: NodeId = NONE;
  /** The last hard state handed to storage (a shadow of it, for cheap checks). */
  hardState: HardState = EMPTY_HARD_STATE;
  /** Highest index applied to this incarnation's state machine. */
  applied = 0;
  /** Fault injection: at the next Ready that persists anything, persist it and crash before sending. */
  tornCrashPending = false;
  /** The next simulated time this node's driver calls tick(). */
  nextTickMs: number;

  constructor(
    readonly id: NodeId,
    readonly peers: readonly NodeId[],
    private readonly tuning: RaftTuning,
    private readonly rng: Rng,
    readonly tickIntervalMs: number,
    tickPhaseMs: number,
  ) {
    this.nextTickMs = tickPhaseMs;
  }

  get up(): boolean {
    return this.raft !== null;
  }

  /** Boot (or reboot) over whatever the storage holds. */
  start(nowMs: number): void {
    const random = this.rng.fork();
    this.incarnation++;
    this.role = 'follower';
    this.leaderId = NONE;
    this.applied = 0;
    this.tornCrashPending = false;
    this.hardState = this.storage.initialState().hardState;
    this.raft = new RaftNode({ ...this.tuning, id: this.id, peers: this.peers, random: () => random.float(), nowMs }, this.storage);
    const { applied } = this.raft.status();
    this.applied = applied;
  }

  crash(): void {
    this.raft = null;
    this.role = 'follower';
    this.leaderId = NONE;
    this.tornCrashPending = false;
  }

  /** The driver loop: handle every Ready the core has. Returns false if the node crashed midway. */
  drain(env: NodeEnv): boolean {
    for (let n = 0; this.raft?.hasReady(); n++) {
      if (n >= MAX_READIES_PER_INPUT) violated('Ready settles', `${this.id} produced ${n} Readies for one input`);
      if (!this.handle(this.raft, this.raft.ready(), env)) return false;
    }
    return true;
  }

  private handle(raft: RaftNode, rd: Ready, env: NodeEnv): boolean {
    const { checker } = env;
    const prevRole = this.role;
    const prevHard = this.hardState;

    // 1. Persist: truncate-and-append, then the hard state (one atomic write in a real driver).
    const first = rd.entries[0];
    let removedTerms: number[] = [];
    if (first !== undefined) {
      const oldLast = this.storage.lastIndex();
      if (first.index <= oldLast) {
        removedTerms = [];
        for (let i = first.index; i <= oldLast; i++) removedTerms.push(this.storage.term(i));
      }
      this.storage.append(rd.entries);
    }
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.hardState = rd.hardState;
    }
    if (rd.softState) {
      this.role = rd.softState.role;
      this.leaderId = rd.softState.leaderId;
    }
    checker.onPersist(this, rd, prevHard, prevRole, removedTerms);
    if (rd.softState) checker.onRole(this, prevRole);
    if (rd.entries.length > 0 || rd.hardState) {
      env.trace(
        `${this.id} persist term=${this.hardState.term} vote=${this.hardState.vote || '-'} commit=${this.hardState.commit}` +
          (first ? ` entries=${first.index}..${first.index + rd.entries.length - 1}@${rd.entries.map((e) => e.term).join(',')}` : ''),
      );
    }
    if (rd.softState) env.trace(`${this.id} role=${this.role} leader=${this.leaderId || '-'} term=${this.hardState.term}`);
    if (this.tornCrashPending && (rd.entries.length > 0 || rd.hardState)) {
      env.trace(`${this.id} CRASH after persist, before send`);
      env.onTornCrash();
      this.crash();
      return false;
    }

    // 2. Send, only now that what the messages promise is durable.
    for (const msg of rd.messages) {
      checker.onSend(this, msg);
      env.send(msg);
    }

    // 3. Apply committed entries in order; read states are answerable once applied reaches them.
    for (const e of rd.committedEntries) {
      checker.onApply(this, e);
      this.applied = e.index;
    }
    for (const rs of rd.readStates) checker.onReadState(this, rs, env.nowMs);

    // 4. Acknowledge.
    raft.advance(rd);
    return true;
  }
}
