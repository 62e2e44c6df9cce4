// One simulated server: a RaftNode over a MemoryStorage, and the driver loop that follows the Ready
// contract exactly (install snapshot → persist → send → apply → advance). The state machine is a
// digest of the applied entries; the driver snapshots it and compacts the log as a real one would.
// A crash throws away the RaftNode and the state machine; a restart builds a new RaftNode over the
// same storage, recovering the state machine from the stored snapshot, so only what was persisted
// survives.
import {
  MemoryStorage,
  NONE,
  RaftNode,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type RaftOptions,
  type Ready,
  type Role,
} from '../../src/index.js';
import { chainDigest, decodeConf, decodeSnapshot, encodeSnapshot, entryKey } from './commands.js';
import type { Rng } from './rng.js';
import type { SafetyChecker } from './checker.js';
import { violated } from './violation.js';

/** RaftOptions minus what the simulator supplies itself (identity, membership, clock, randomness, applied). */
export type RaftTuning = Omit<RaftOptions, 'id' | 'peers' | 'random' | 'nowMs' | 'applied'>;

/** When the driver snapshots its state machine: every `every` applied entries, keeping `keepTail` entries of log. */
export interface CompactionPolicy {
  readonly every: number;
  readonly keepTail: number;
}

export interface NodeEnv {
  readonly nowMs: number;
  readonly checker: SafetyChecker;
  send(msg: Message, from: SimNode): void;
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
  /** The membership as this node's core has it (initial, applied, or from a snapshot). */
  conf: ConfState = { voters: [], learners: [] };
  /** Highest index applied to this incarnation's state machine, and the state machine itself. */
  applied = 0;
  digest = 0;
  /** Snapshot data that arrived with a snapshot message, by snapshot index, until the core installs it. */
  readonly snapshotData = new Map<number, Uint8Array>();
  /** Fault injection: at the next Ready that persists anything, persist it and crash before sending. */
  tornCrashPending = false;
  /** Send a leader's appends and heartbeats before persisting (thesis §10.2.1), as the server does. */
  earlySend = false;
  /** The next simulated time this node's driver calls tick(). */
  nextTickMs: number;

  /**
   * `peers`: the initial voters this node is started with (empty for a node that joins later and
   * learns the membership from its log).
   */
  constructor(
    readonly id: NodeId,
    readonly peers: readonly NodeId[],
    private readonly tuning: RaftTuning,
    private readonly rng: Rng,
    readonly tickIntervalMs: number,
    tickPhaseMs: number,
    private readonly compaction: CompactionPolicy | null = null,
  ) {
    this.nextTickMs = tickPhaseMs;
  }

  get up(): boolean {
    return this.raft !== null;
  }

  /** Boot (or reboot) over whatever the storage holds: the snapshot, then the log after it. */
  start(nowMs: number): void {
    const random = this.rng.fork();
    this.incarnation++;
    this.role = 'follower';
    this.leaderId = NONE;
    this.tornCrashPending = false;
    this.snapshotData.clear();
    this.hardState = this.storage.initialState().hardState;
    const snap = this.storage.snapshot();
    this.applied = snap.meta.index;
    this.digest = snap.meta.index > 0 ? decodeSnapshot(snap.data).digest : 0;
    this.raft = new RaftNode(
      { ...this.tuning, id: this.id, peers: this.peers, random: () => random.float(), nowMs, applied: this.applied },
      this.storage,
    );
    this.conf = this.raft.status().conf;
  }

  crash(): void {
    this.raft = null;
    this.role = 'follower';
    this.leaderId = NONE;
    this.tornCrashPending = false;
    this.snapshotData.clear();
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
    const st = this.storage;

    // 0. A snapshot from the leader replaces the state machine and the whole log.
    if (rd.snapshot) {
      const meta = rd.snapshot;
      const data = this.snapshotData.get(meta.index);
      if (data === undefined) violated('Snapshot installs what arrived', `${this.id} asked to install snapshot ${meta.index}, which never arrived`);
      const dropped: number[] = [];
      for (let i = Math.max(meta.index + 1, st.firstIndex()); i <= st.lastIndex(); i++) dropped.push(st.term(i));
      st.applySnapshot(meta, data);
      const { digest } = decodeSnapshot(data);
      checker.onSnapshotInstall(this, meta, digest, dropped);
      this.applied = meta.index;
      this.digest = digest;
      this.conf = meta.conf;
      this.snapshotData.clear();
      env.trace(`${this.id} install snapshot ${meta.index}@${meta.term}`);
    }

    // Relaxation 1 of the contract: a leader's appends and heartbeats may leave before its persist.
    // A torn crash then strikes before the persist: sent, never written.
    const early = this.earlySend && rd.messagesBeforePersist;
    if (early) {
      for (const msg of rd.messages) {
        checker.onSend(this, msg, true);
        env.send(msg, this);
      }
      if (this.tornCrashPending && (rd.entries.length > 0 || rd.hardState)) {
        env.trace(`${this.id} CRASH after an early send, before persist`);
        this.crash();
        return false;
      }
    }

    // 1. Persist: truncate-and-append, then the hard state (one atomic write in a real driver).
    const first = rd.entries[0];
    let removedTerms: number[] = [];
    if (first !== undefined) {
      const oldLast = st.lastIndex();
      if (first.index <= oldLast) {
        removedTerms = [];
        for (let i = first.index; i <= oldLast; i++) removedTerms.push(st.term(i));
      }
      st.append(rd.entries);
    }
    if (rd.hardState) {
      st.setHardState(rd.hardState);
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
    if (this.tornCrashPending && (rd.entries.length > 0 || rd.hardState || rd.snapshot)) {
      env.trace(`${this.id} CRASH after persist, before send`);
      env.onTornCrash();
      this.crash();
      return false;
    }

    // 2. Send, only now that what the messages promise is durable.
    if (!early) {
      for (const msg of rd.messages) {
        checker.onSend(this, msg);
        env.send(msg, this);
      }
    }

    // 3. Apply committed entries in order; read states are answerable once applied reaches them.
    for (const e of rd.committedEntries) {
      checker.onApply(this, e);
      this.applied = e.index;
      this.digest = chainDigest(this.digest, entryKey(e));
      if (e.type === 'conf-change') {
        // The membership takes effect when applied, and is persisted with it.
        const conf = decodeConf(e.data);
        raft.applyConf(conf);
        this.storage.setConfState(conf);
        this.conf = conf;
        env.trace(`${this.id} conf voters=${conf.voters.join(',')} learners=${conf.learners.join(',') || '-'}`);
      }
    }
    for (const rs of rd.readStates) checker.onReadState(this, rs, env.nowMs);

    // 4. Acknowledge; then, like a real driver, snapshot the state machine now and then.
    raft.advance(rd);
    this.maybeCompact(raft);
    return true;
  }

  private maybeCompact(raft: RaftNode): void {
    const c = this.compaction;
    if (c === null || this.applied - this.storage.snapshotMeta().index < c.every) return;
    this.storage.createSnapshot(this.applied, raft.status().conf, encodeSnapshot(this.applied, this.digest), this.applied - c.keepTail);
  }
}
