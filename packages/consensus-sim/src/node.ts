// One simulated server: a RaftNode over a MemoryStorage, and the driver loop that follows the Ready
// contract exactly (install snapshot → persist → send → apply → advance). The state machine is a
// digest of the applied entries; the driver snapshots it and compacts the log as a real one would.
// A crash throws away the RaftNode and the state machine; a restart builds a new RaftNode over the
// same storage, recovering the state machine from the stored snapshot, so only what was persisted
// survives.
//
// The driver may also take the contract's two relaxations, as the server's does: a leader's appends
// and heartbeats leave before its persist when the Ready says they may (earlySend), and the write
// may take simulated time while new input is stepped into the core between ready() and advance()
// (an asynchronous disk, see disk.ts).
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
} from '@raftkv/consensus';
import { chainDigest, decodeConf, decodeSnapshot, encodeSnapshot, entryKey } from './commands.js';
import { writes, type SimDisk } from './disk.js';
import type { Rng } from './rng.js';
import { violated } from './violation.js';

/** RaftOptions minus what the simulator supplies itself (identity, membership, clock, randomness, applied). */
export type RaftTuning = Omit<RaftOptions, 'id' | 'peers' | 'random' | 'nowMs' | 'applied'>;

/** When the driver snapshots its state machine: every `every` applied entries, keeping `keepTail` entries of log. */
export interface CompactionPolicy {
  readonly every: number;
  readonly keepTail: number;
}

/**
 * What a node reports as it runs: SafetyChecker (checker.ts) implements it. Declared here so that the
 * checker, which reads nodes, and the nodes, which report to it, do not import each other.
 */
export interface NodeObserver {
  onPersist(node: SimNode, rd: Ready, prevHard: HardState, prevRole: Role, removedTerms: readonly number[]): void;
  onRole(node: SimNode, prevRole: Role): void;
  onSnapshotInstall(node: SimNode, meta: NonNullable<Ready['snapshot']>, digest: number, droppedTerms: readonly number[]): void;
  onSend(node: SimNode, msg: Message, early?: boolean): void;
  onApply(node: SimNode, e: Ready['committedEntries'][number]): void;
  onReadState(node: SimNode, rs: Ready['readStates'][number], nowMs: number): void;
}

export interface NodeEnv {
  readonly nowMs: number;
  readonly checker: NodeObserver;
  send(msg: Message, from: SimNode): void;
  trace(line: string): void;
  onTornCrash(): void;
  onEarlySend(): void;
  onCrashDuringWrite(kept: boolean): void;
  /** Run `run` for `node` at simulated time atMs (a write completing), then drain the node. */
  schedule(atMs: number, node: SimNode, run: () => void): void;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };
/** A core that keeps producing Readies without input is stuck in a loop. */
const MAX_READIES_PER_INPUT = 10_000;

/** A Ready whose write is under way, and whether its messages already left (relaxation 1). */
interface Flight {
  readonly rd: Ready;
  readonly early: boolean;
}

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
  /**
   * Asynchronous disk: the membership in force while the last Ready was being written (before its
   * committed entries were applied); what input stepped in meanwhile decided, it decided with that.
   */
  confDuringLastWrite: ConfState | undefined;
  /** Highest index applied to this incarnation's state machine, and the state machine itself. */
  applied = 0;
  digest = 0;
  /** Snapshot data that arrived with a snapshot message, by snapshot index, until the core installs it. */
  readonly snapshotData = new Map<number, Uint8Array>();
  /**
   * Fault injection: at the next Ready that persists anything, persist it and crash before sending
   * (with an asynchronous disk, half the time: crash while writing it, keeping or losing it whole).
   */
  tornCrashPending = false;
  /** Send a leader's appends and heartbeats before persisting (thesis §10.2.1), as the server does. */
  earlySend = false;
  /** Where this node's Readies are written: null (or a synchronous disk) writes each in the instant it is handled. */
  disk: SimDisk | null = null;
  /** The Ready being written by an asynchronous disk; inputs arriving meanwhile wait for the next Ready. */
  private inFlight: Flight | null = null;
  /** Readies taken within one simulated ms (asynchronous disk): a core that never settles is stuck. */
  private readiesAtMs = -1;
  private readiesThisMs = 0;
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
    this.inFlight = null;
    this.confDuringLastWrite = undefined;
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

  /**
   * The process dies. A write under way is one transaction: it survives whole or not at all (the
   * disk draws which); with `env` absent it is lost.
   */
  crash(env?: NodeEnv): void {
    const flight = this.inFlight;
    this.inFlight = null;
    if (flight !== null && env !== undefined && writes(flight.rd)) {
      const kept = this.disk!.keepsWriteOnCrash();
      env.trace(`${this.id} CRASH during a write: ${kept ? 'kept whole' : 'lost whole'}`);
      env.onCrashDuringWrite(kept);
      if (kept) this.write(flight.rd, flight.early, env);
    }
    this.raft = null;
    this.role = 'follower';
    this.leaderId = NONE;
    this.tornCrashPending = false;
    this.snapshotData.clear();
  }

  /**
   * The driver loop: handle every Ready the core has. Returns false if the node crashed midway.
   * With an asynchronous disk it only starts the next write, unless one is under way; the rest of
   * the Ready is handled when the write completes (a timer), and inputs may arrive before that.
   */
  drain(env: NodeEnv): boolean {
    if (this.disk?.async) {
      this.sendWhilePersisting(env);
      this.startPersist(env);
      return this.up;
    }
    for (let n = 0; this.raft?.hasReady(); n++) {
      if (n >= MAX_READIES_PER_INPUT) violated('Ready settles', `${this.id} produced ${n} Readies for one input`);
      if (!this.handle(this.raft, this.raft.ready(), env)) return false;
    }
    return true;
  }

  /** Whether a Ready is being written (asynchronous disk): the core is between ready() and advance(). */
  get persisting(): boolean {
    return this.inFlight !== null;
  }

  /**
   * Whether (index, term) is in the persisted log or in the write under way — where a proposal made
   * while no write was under way must be, since its Ready was taken at once.
   */
  persistedOrWriting(index: number, term: number): boolean {
    const pending = this.inFlight?.rd.entries ?? [];
    const first = pending[0]?.index ?? Infinity;
    if (index >= first) return pending[index - first]?.term === term;
    const st = this.storage;
    if (index < st.firstIndex() - 1) return true; // compacted: committed and applied already
    return index <= st.lastIndex() && st.term(index) === term;
  }

  /** The synchronous driver: the whole contract for one Ready, in one instant. */
  private handle(raft: RaftNode, rd: Ready, env: NodeEnv): boolean {
    const early = this.sendEarly(rd, env);
    if (early && this.tornCrashPending && writes(rd)) {
      // Sent, never written.
      env.trace(`${this.id} CRASH after an early send, before persist`);
      env.onTornCrash();
      this.crash(env);
      return false;
    }
    this.write(rd, early, env);
    if (this.tornCrashPending && writes(rd)) {
      env.trace(`${this.id} CRASH after persist, before send`);
      env.onTornCrash();
      this.crash(env);
      return false;
    }
    this.finish(raft, rd, early, env);
    return true;
  }

  /** The asynchronous driver: take the next Ready and start writing it; finishPersist completes it. */
  private startPersist(env: NodeEnv): void {
    const raft = this.raft;
    if (raft === null || this.inFlight !== null || !raft.hasReady()) return;
    if (env.nowMs !== this.readiesAtMs) [this.readiesAtMs, this.readiesThisMs] = [env.nowMs, 0];
    if (++this.readiesThisMs > MAX_READIES_PER_INPUT)
      violated('Ready settles', `${this.id} produced ${this.readiesThisMs} Readies within 1 ms`);
    const rd = raft.ready();
    const early = this.sendEarly(rd, env);
    const flight = { rd, early };
    this.inFlight = flight;
    const disk = this.disk!;
    const delayMs = disk.latencyMs(rd);
    if (delayMs > 0) env.trace(`${this.id} writing for ${delayMs} ms`);
    if (this.tornCrashPending && writes(rd) && disk.tornCrashStrikesMidWrite()) {
      // Scheduled first, so that it strikes before the write completes even in the same ms.
      const atMs = env.nowMs + disk.crashPointMs(delayMs);
      env.trace(`${this.id} torn crash to strike mid-write at ${atMs} ms`);
      env.schedule(atMs, this, () => {
        // Disarmed meanwhile (the heal ends every fault), or the write ended otherwise: no crash.
        if (this.inFlight !== flight || !this.tornCrashPending) return;
        env.onTornCrash();
        this.crash(env);
      });
    }
    env.schedule(env.nowMs + delayMs, this, () => {
      // A crash (and restart) meanwhile ended this write one way or the other.
      if (this.inFlight === flight) this.finishPersist(raft, env);
    });
  }

  /** The write of the Ready under way completed: then send, apply, advance (the next Ready comes from drain). */
  private finishPersist(raft: RaftNode, env: NodeEnv): void {
    const { rd, early } = this.inFlight!;
    this.inFlight = null;
    this.write(rd, early, env);
    if (this.tornCrashPending && writes(rd)) {
      env.trace(`${this.id} CRASH after persist, before send`);
      env.onTornCrash();
      this.crash(env);
      return;
    }
    this.finish(raft, rd, early, env);
  }

  /**
   * Relaxation 1 of the contract: when the core says so (a leader's appends and heartbeats, term and
   * vote unchanged), the messages leave before the persist. Returns whether they did.
   */
  private sendEarly(rd: Ready, env: NodeEnv): boolean {
    if (!(this.earlySend && rd.messagesBeforePersist)) return false;
    for (const msg of rd.messages) {
      env.checker.onSend(this, msg, true);
      env.send(msg, this);
    }
    env.onEarlySend();
    return true;
  }

  /**
   * Relaxation 1, while a write is under way: what the core lets leave before the persist (a leader's
   * appends and heartbeats, a follower's heartbeat responses) leaves now, as the server's driver does.
   */
  private sendWhilePersisting(env: NodeEnv): void {
    if (!this.earlySend || this.inFlight === null || this.raft === null) return;
    const msgs = this.raft.takeMessagesBeforePersist();
    for (const msg of msgs) {
      env.checker.onSend(this, msg, true);
      env.send(msg, this);
    }
    if (msgs.length > 0) env.onEarlySend();
  }

  /** Steps 0 and 1: install the snapshot, truncate-and-append, store the hard state — one transaction. */
  private write(rd: Ready, early: boolean, env: NodeEnv): void {
    const { checker } = env;
    const prevRole = this.role;
    const prevHard = this.hardState;
    const st = this.storage;

    // 0. A snapshot from the leader replaces the state machine and the whole log.
    if (rd.snapshot) {
      const meta = rd.snapshot;
      const data = this.snapshotData.get(meta.index);
      if (data === undefined)
        violated('Snapshot installs what arrived', `${this.id} asked to install snapshot ${meta.index}, which never arrived`);
      const dropped: number[] = [];
      for (let i = Math.max(meta.index + 1, st.firstIndex()); i <= st.lastIndex(); i++) dropped.push(st.term(i));
      st.applySnapshot(meta, data);
      const { digest } = decodeSnapshot(data);
      checker.onSnapshotInstall(this, meta, digest, dropped);
      this.applied = meta.index;
      this.digest = digest;
      this.conf = meta.conf;
      // A newer snapshot may have arrived while this one was being written: keep its data.
      for (const index of [...this.snapshotData.keys()]) if (index <= meta.index) this.snapshotData.delete(index);
      env.trace(`${this.id} install snapshot ${meta.index}@${meta.term}`);
    }

    // 1. Persist: truncate-and-append, then the hard state.
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
    // What left early must now be on this leader's disk after all.
    if (early) for (const msg of rd.messages) checker.onSend(this, msg);
    if (rd.entries.length > 0 || rd.hardState) {
      env.trace(
        `${this.id} persist term=${this.hardState.term} vote=${this.hardState.vote || '-'} commit=${this.hardState.commit}` +
          (first ? ` entries=${first.index}..${first.index + rd.entries.length - 1}@${rd.entries.map((e) => e.term).join(',')}` : ''),
      );
    }
    if (rd.softState) env.trace(`${this.id} role=${this.role} leader=${this.leaderId || '-'} term=${this.hardState.term}`);
  }

  /** Steps 2–4: send what waited for the persist, apply, advance; then perhaps snapshot. */
  private finish(raft: RaftNode, rd: Ready, early: boolean, env: NodeEnv): void {
    const { checker } = env;
    // 2. Send, only now that what the messages promise is durable.
    if (!early) {
      for (const msg of rd.messages) {
        checker.onSend(this, msg);
        env.send(msg, this);
      }
    }

    // 3. Apply committed entries in order; read states are answerable once applied reaches them.
    this.confDuringLastWrite = this.disk?.async ? this.conf : undefined;
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
  }

  private maybeCompact(raft: RaftNode): void {
    const c = this.compaction;
    if (c === null || this.applied - this.storage.snapshotMeta().index < c.every) return;
    this.storage.createSnapshot(this.applied, raft.status().conf, encodeSnapshot(this.applied, this.digest), this.applied - c.keepTail);
  }
}
