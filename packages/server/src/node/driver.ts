// The driver: owns the clock and the event loop around the pure Raft core. Inputs (peer messages,
// proposals, read requests, ticks) are fed to the core as they arrive and coalesced with setImmediate,
// so everything that arrived meanwhile lands in one Ready. Each Ready is handled per the core's
// contract: persist entries + hard state AND apply committed entries in one SQLite transaction, make
// it durable with one fsync that runs off the event loop (wal-sync.ts), then send messages, then
// answer proposals and reads, then advance. While the fsync runs, inputs keep being stepped into the
// core (allowed between ready() and advance()) and form the next Ready: group commit.
import { InvalidRequestError, NotLeaderError, ProposalDroppedError, type Message, type RaftEvent, type RaftNode, type Ready, type Role, type SnapshotMeta } from '@raftkv/consensus';
import type { ProposeResponse } from '@raftkv/proto';
import { performance } from 'node:perf_hooks';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../storage/db.js';
import { InvalidArgumentError, RaftkvError, StorageFailure, UnavailableError } from '../errors.js';
import type { LogContext, Logger } from '../observability/logger.js';
import type { RaftObserver } from '../observability/node-observability.js';
import type { SqliteLogStorage } from '../storage/log-storage.js';
import type { ApplyOutcome, KvStateMachine } from '../storage/state-machine.js';
import type { Durability } from '../storage/wal-sync.js';


/** A persist slower than this is logged: it delays heartbeats and can cost leadership. */
const SLOW_PERSIST_MS = 100;

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

interface PendingProposal extends Waiter<ProposeResponse> {
  readonly term: number;
}

/** Called once the read may be served: the state machine has applied at least the read index. */
export type ReadCallback = (err: Error | null) => void;

interface ReadRound {
  readonly term: number;
  readonly callbacks: ReadCallback[];
}

export interface DriverDeps {
  readonly id: string;
  readonly node: RaftNode;
  /** The node's connection; Ready transactions commit on it with synchronous=OFF, made durable by `wal`. */
  readonly db: Db;
  /** fsyncs what the connection committed (the WAL), off the event loop. */
  readonly wal: Durability;
  readonly log: SqliteLogStorage;
  readonly sm: KvStateMachine;
  readonly logger: Logger;
  readonly logContext: LogContext;
  /** Sends messages to peers; must not block. */
  readonly send: (messages: readonly Message[]) => void;
  /** The node can no longer make progress safely (disk failure): stop it. */
  readonly onFatal: (err: Error) => void;
  readonly tickIntervalMs?: number;
  /** Metrics and status watchers: told about every handled Ready (after its replies went out). */
  readonly observer?: RaftObserver | undefined;
  /**
   * Ready.snapshot (step 0): replace the state machine and the whole log with the snapshot received
   * from the leader, durably, before anything else of the Ready (snapshot-store.ts).
   */
  readonly installSnapshot?: (meta: SnapshotMeta) => void;
}

export interface DriverView {
  readonly role: Role;
  readonly term: number;
  readonly leaderId: string;
  readonly commit: number;
  readonly applied: number;
}

export class RaftDriver {
  private role: Role = 'follower';
  private term = 0;
  private leader = '';
  private commit = 0;
  private scheduled = false;
  private stopped = false;
  private accepting = true;
  private fatal = false;
  /** A Ready whose fsync is in flight; ready() is not called again before it is advanced. */
  private syncing: Ready | null = null;
  private driving = false;
  private tickTimer: NodeJS.Timeout | null = null;

  private proposeQueue: { data: Uint8Array; waiter: Waiter<ProposeResponse> }[] = [];
  private readonly pending = new Map<number, PendingProposal>();
  private readQueue: ReadCallback[] = [];
  private readonly readRounds = new Map<number, ReadRound>();
  /** Confirmed read indexes waiting for the state machine to catch up, in index order. */
  private readsAwaitingApply: { index: number; callbacks: ReadCallback[] }[] = [];
  private nextReadId = 1;
  private readonly leaderWatchers = new Set<() => void>();
  private readonly stateWatchers = new Set<() => void>();

  constructor(private readonly d: DriverDeps) {
    this.syncOff = d.db.prepare('PRAGMA synchronous = OFF');
    this.syncFull = d.db.prepare('PRAGMA synchronous = FULL');
    this.tx = d.db.transaction((fn: () => void) => fn());
    const hs = d.log.hardState();
    this.term = hs.term;
    this.commit = hs.commit;
    this.updateContext();
  }

  start(): void {
    const every = this.d.tickIntervalMs ?? 10;
    this.tickTimer = setInterval(() => {
      if (this.stopped) return;
      try {
        this.d.node.tick(performance.now());
        if (this.d.node.hasReady()) this.schedule();
      } catch (e) {
        this.die(e as Error);
      }
    }, every);
    this.schedule();
  }

  // ---- inputs ----

  /** A message from a peer (already validated by the transport). */
  step(m: Message): void {
    if (this.stopped) return;
    try {
      this.d.node.step(m);
    } catch (e) {
      this.d.logger.warn('core refused a peer message', { from: m.from, type: m.type, error: (e as Error).message });
      return;
    }
    this.schedule();
  }

  /**
   * Any other input to the core (snapshot reports, membership changes): runs `f` on it and schedules
   * the Ready it produces. Throws what `f` throws.
   */
  withCore<T>(f: (node: RaftNode) => T): T {
    if (this.stopped) throw new UnavailableError('node is shutting down', this.leader === this.d.id ? '' : this.leader, true);
    const r = f(this.d.node);
    this.schedule();
    return r;
  }

  /** Leader only: replicates an encoded ProposeRequest; resolves with the state machine's answer once applied. */
  propose(data: Uint8Array): Promise<ProposeResponse> {
    return new Promise((resolve, reject) => {
      const refusal = this.refusal();
      if (refusal) return reject(refusal);
      this.proposeQueue.push({ data, waiter: { resolve, reject } });
      this.schedule();
    });
  }

  /** Leader only: a ReadIndex round; `cb` runs (synchronously, in the driver loop) once a linearizable read may be served locally. */
  readIndex(cb: ReadCallback): void {
    const refusal = this.refusal();
    if (refusal) return cb(refusal);
    this.readQueue.push(cb);
    this.schedule();
  }

  private refusal(): UnavailableError | null {
    if (!this.accepting || this.fatal) return new UnavailableError('node is shutting down', this.leader === this.d.id ? '' : this.leader, true);
    if (this.role !== 'leader') return new UnavailableError('not the leader', this.leader, true);
    return null;
  }

  // ---- the loop ----

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.drive();
  };

  /** Feeds queued work to the core and handles Readies until one waits for its fsync or none is left. */
  private drive(): void {
    if (this.stopped || this.driving) return;
    this.driving = true;
    try {
      this.flushProposals();
      this.flushReads();
      for (let n = 0; this.syncing === null && this.d.node.hasReady(); n++) {
        if (n === 64) {
          this.schedule(); // let I/O in
          return;
        }
        this.handleReady(this.d.node.ready());
      }
    } catch (e) {
      this.die(e as Error);
    } finally {
      this.driving = false;
    }
  }

  private flushProposals(): void {
    const q = this.proposeQueue;
    if (q.length === 0) return;
    this.proposeQueue = [];
    let first: { firstIndex: number; term: number };
    try {
      first = this.d.node.propose(q.map((p) => p.data));
    } catch (e) {
      const err = this.refusalFor(e);
      for (const p of q) p.waiter.reject(err);
      return;
    }
    for (let i = 0; i < q.length; i++) {
      const w = q[i]!.waiter;
      this.pending.set(first.firstIndex + i, { term: first.term, resolve: w.resolve, reject: w.reject });
    }
  }

  private flushReads(): void {
    const q = this.readQueue;
    if (q.length === 0) return;
    this.readQueue = [];
    const id = this.nextReadId++;
    try {
      this.d.node.readIndex(id);
    } catch (e) {
      const err = this.refusalFor(e);
      for (const cb of q) cb(err);
      return;
    }
    this.readRounds.set(id, { term: this.term, callbacks: q });
  }

  private refusalFor(e: unknown): Error {
    if (e instanceof NotLeaderError) return new UnavailableError('not the leader', e.leaderId, true);
    if (e instanceof ProposalDroppedError) return new UnavailableError(e.message, this.leader, true);
    return e instanceof Error ? e : new Error(String(e));
  }

  private handleReady(rd: Ready): void {
    if (rd.snapshot) {
      if (!this.d.installSnapshot) throw new Error('asked to install a snapshot, but no snapshot store is configured');
      try {
        this.d.installSnapshot(rd.snapshot);
      } catch (e) {
        throw new StorageFailure(`could not install snapshot ${rd.snapshot.index}: ${(e as Error).message}`, { cause: e });
      }
    }
    const prevRole = this.role;
    const prevTerm = this.term;
    if (rd.softState) {
      this.role = rd.softState.role;
      this.leader = rd.softState.leaderId;
    }
    if (rd.hardState) {
      this.term = rd.hardState.term;
      this.commit = rd.hardState.commit;
    }
    this.updateContext();
    if (rd.events.length > 0) this.logEvents(rd.events);

    // A leader's appends and heartbeats promise nothing about its own disk (the core counts the
    // leader's log toward commit only after advance), so they leave before its fsync and the
    // followers persist in parallel with it (Raft thesis §10.2.1). Anything else waits for the fsync.
    const early = rd.messagesBeforePersist;
    if (early) this.d.send(rd.messages);

    // 1 + 3: persist and apply, atomically, in one transaction; then one fsync, off the event loop.
    const t0 = performance.now();
    let outcomes: ApplyOutcome[];
    try {
      outcomes = this.persistAndApply(rd);
    } catch (e) {
      throw new StorageFailure(`could not persist a Ready: ${(e as Error).message}`, { cause: e });
    }
    if (!rd.mustSync) {
      // Nothing to make durable: a commit index and applied entries are re-derived from the durable
      // log after a crash (see persistAndApply).
      this.readyDone(rd, early, prevRole, prevTerm, outcomes, t0);
      return;
    }
    this.syncing = rd;
    this.d.wal.sync((err) => {
      this.syncing = null;
      if (this.stopped) return;
      try {
        if (err) throw new StorageFailure(`could not fsync the log: ${err.message}`);
        this.readyDone(rd, early, prevRole, prevTerm, outcomes, t0);
      } catch (e) {
        this.die(e as Error);
        return;
      }
      this.drive(); // whatever arrived during the fsync is the next Ready
    });
  }

  /** The Ready is durable: send what waited for it, answer proposals and reads, advance. */
  private readyDone(rd: Ready, early: boolean, prevRole: Role, prevTerm: number, outcomes: readonly ApplyOutcome[], t0: number): void {
    const wrote = rd.entries.length > 0 || rd.hardState !== null || rd.committedEntries.length > 0;
    const ms = performance.now() - t0;
    if (ms > SLOW_PERSIST_MS) {
      this.d.logger.warn('slow disk: persisting a Ready took long', { ms: Math.round(ms), entries: rd.entries.length, applied: rd.committedEntries.length });
    }
    // 2: only now may messages that promise what we persisted leave.
    if (!early && rd.messages.length > 0) this.d.send(rd.messages);

    // Answer proposals whose entries were applied.
    const committed = rd.committedEntries;
    if (this.pending.size > 0) {
      for (let i = 0; i < committed.length; i++) {
        const e = committed[i]!;
        const p = this.pending.get(e.index);
        if (p === undefined) continue;
        this.pending.delete(e.index);
        const o = outcomes[i];
        if (p.term !== e.term) p.reject(new UnavailableError('the entry was replaced by a new leader; not applied', this.leader, true));
        else if (o === null || o === undefined) p.reject(new UnavailableError('the entry was applied without an outcome', this.leader));
        else if (o.ok) p.resolve({ ...o.response, leaderId: this.leader });
        else p.reject(o.error);
      }
    }
    for (const rs of rd.readStates) {
      const round = this.readRounds.get(rs.requestId);
      if (round === undefined) continue;
      this.readRounds.delete(rs.requestId);
      const q = this.readsAwaitingApply;
      q.push({ index: rs.index, callbacks: round.callbacks });
      if (q.length > 1 && q[q.length - 2]!.index > rs.index) q.sort((a, b) => a.index - b.index);
    }
    if (this.readsAwaitingApply.length > 0) this.serveReads();

    if (prevRole === 'leader' && (this.role !== 'leader' || this.term !== prevTerm)) this.failLeaderWork();
    this.d.node.advance(rd);
    if (rd.softState) this.notify(this.leaderWatchers);
    this.notify(this.stateWatchers);
    this.d.observer?.readyHandled(rd, wrote ? ms / 1000 : null);
  }

  /**
   * Appends, stores the hard state and applies, in one transaction committed with synchronous=OFF:
   * the caller makes it durable (WalSync) when the Ready must be. One that only advances the commit
   * index and applies entries is not synced: a crash (kill -9) keeps it (the WAL is in the OS page
   * cache); a power loss may drop it, but then it drops together with its applied index and sessions
   * (one transaction, WAL order), and the entries are re-applied from the durable log. Nothing
   * acknowledged is lost: an answer is sent only for entries durable on a majority.
   */
  private persistAndApply(rd: Ready): ApplyOutcome[] {
    if (rd.entries.length === 0 && rd.hardState === null && rd.committedEntries.length === 0) return [];
    let outcomes: ApplyOutcome[] = [];
    this.syncOff.run();
    try {
      this.tx(() => {
        if (rd.entries.length > 0) this.d.log.append(rd.entries);
        if (rd.hardState) this.d.log.setHardState(rd.hardState);
        if (rd.committedEntries.length > 0) outcomes = this.d.sm.apply(rd.committedEntries);
      });
    } finally {
      // Any other transaction on this connection (snapshots, membership) keeps SQLite's own fsync.
      this.syncFull.run();
    }
    return outcomes;
  }

  private readonly syncOff: Statement;
  private readonly syncFull: Statement;
  private readonly tx: (fn: () => void) => void;

  private serveReads(): void {
    const applied = this.d.sm.appliedIndex();
    let n = 0;
    while (n < this.readsAwaitingApply.length && this.readsAwaitingApply[n]!.index <= applied) n++;
    if (n === 0) return;
    const ready = this.readsAwaitingApply.splice(0, n);
    for (const r of ready) for (const cb of r.callbacks) cb(null);
  }

  /** Leadership lost: every proposal and read still waiting on this leader fails now, not at its deadline. */
  private failLeaderWork(): void {
    const leader = this.leader === this.d.id ? '' : this.leader;
    for (const p of this.pending.values()) p.reject(new UnavailableError('leadership lost; the command may or may not be applied', leader));
    this.pending.clear();
    const readErr = new UnavailableError('leadership lost before the read was confirmed', leader, true);
    for (const r of this.readRounds.values()) for (const cb of r.callbacks) cb(readErr);
    this.readRounds.clear();
    for (const cb of this.readQueue) cb(readErr);
    this.readQueue = [];
    const propErr = new UnavailableError('leadership lost before the command was proposed', leader, true);
    for (const p of this.proposeQueue) p.waiter.reject(propErr);
    this.proposeQueue = [];
  }

  private logEvents(events: readonly RaftEvent[]): void {
    const log = this.d.logger;
    for (const ev of events) {
      switch (ev.kind) {
        case 'became-leader':
        case 'became-candidate':
        case 'became-pre-candidate':
        case 'became-follower':
        case 'term-changed':
        case 'step-down':
        case 'vote-granted':
        case 'vote-rejected':
        case 'log-truncated':
        case 'transfer-started':
        case 'transfer-aborted':
          log.info(ev.kind, ev);
          break;
        default:
          if (log.isDebugEnabled()) log.debug(ev.kind, ev);
          break;
      }
    }
  }

  private updateContext(): void {
    this.d.logContext.term = this.term;
    this.d.logContext.role = this.role;
  }

  private notify(set: Set<() => void>): void {
    for (const f of [...set]) f();
  }

  // ---- views and waits ----

  view(): DriverView {
    return { role: this.role, term: this.term, leaderId: this.leader, commit: this.commit, applied: this.d.sm.appliedIndex() };
  }
  get leaderId(): string {
    return this.leader;
  }
  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /**
   * Leader only: hand leadership to `to` (default: the most caught-up voter) and wait until another
   * node leads, or the deadline (Date.now() clock) passes.
   */
  async transferLeadership(to: string, deadlineMs: number): Promise<{ leaderId: string; term: number }> {
    const refusal = this.refusal();
    if (refusal) throw refusal;
    const st = this.d.node.status();
    let target = to;
    if (target === '') {
      let best = -1;
      for (const v of st.conf.voters) {
        const match = st.progress[v]?.match ?? -1;
        if (v !== this.d.id && match > best) [target, best] = [v, match];
      }
      if (target === '') throw new UnavailableError('no other voter to transfer leadership to', '');
    }
    try {
      this.d.node.transferLeadership(target);
    } catch (e) {
      throw e instanceof InvalidRequestError ? new InvalidArgumentError(e.message) : this.refusalFor(e);
    }
    this.schedule();
    // A leader that removed itself is sent nothing once it steps down, so it never learns who
    // succeeded it: for it, stepping down is the hand-over.
    const handedOver = (): boolean => this.role !== 'leader' && (this.leader !== '' || !this.d.node.status().conf.voters.includes(this.d.id));
    while (!handedOver() && !this.stopped && Date.now() < deadlineMs) await this.waitForLeaderChange(deadlineMs);
    if (!handedOver()) throw new UnavailableError(`leadership transfer to ${target} did not complete in time`, this.leader === this.d.id ? '' : this.leader);
    return { leaderId: this.leader, term: this.term };
  }

  /** Resolves on the next leader change (or when a leader becomes known), or at `deadlineMs` (Date.now() clock). */
  waitForLeaderChange(deadlineMs: number): Promise<void> {
    return this.waitOn(this.leaderWatchers, deadlineMs);
  }
  /** Resolves after the next handled Ready, or at the deadline. */
  waitForProgress(deadlineMs: number): Promise<void> {
    return this.waitOn(this.stateWatchers, deadlineMs);
  }
  private waitOn(set: Set<() => void>, deadlineMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        set.delete(done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, deadlineMs - Date.now()));
      set.add(done);
    });
  }

  // ---- shutdown ----

  /** Refuse new work; in-flight proposals and reads may still finish. */
  stopAccepting(): void {
    this.accepting = false;
  }

  get inFlight(): number {
    return this.pending.size + this.proposeQueue.length + this.readQueue.length + this.readRounds.size + this.readsAwaitingApply.length;
  }

  /** Stops the loop and fails whatever is still waiting. */
  stop(reason = 'node is shutting down'): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    const err = new UnavailableError(reason, this.leader === this.d.id ? '' : this.leader);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const p of this.proposeQueue) p.waiter.reject(err);
    this.proposeQueue = [];
    for (const cb of this.readQueue) cb(err);
    this.readQueue = [];
    for (const r of this.readRounds.values()) for (const cb of r.callbacks) cb(err);
    this.readRounds.clear();
    for (const r of this.readsAwaitingApply) for (const cb of r.callbacks) cb(err);
    this.readsAwaitingApply = [];
    this.notify(this.leaderWatchers);
    this.notify(this.stateWatchers);
  }

  private die(e: Error): void {
    if (this.fatal) return;
    this.fatal = true;
    this.d.logger.error('fatal: the node stops to avoid diverging', { error: e.message, kind: e.name, stack: e instanceof RaftkvError ? undefined : e.stack });
    this.stop(e instanceof StorageFailure ? 'storage failure' : 'internal error');
    this.d.onFatal(e);
  }
}
