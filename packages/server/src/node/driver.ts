// The driver: owns the clock and the event loop around the pure Raft core. Inputs (peer messages,
// proposals, read requests, ticks) are fed to the core as they arrive and coalesced with setImmediate,
// so everything that arrived meanwhile lands in one Ready. Each Ready is handled per the core's
// contract: persist entries + hard state AND apply committed entries in one transaction, make it
// durable with one fsync that runs off the event loop (both behind ReadyStorage, ready-store.ts),
// hand the configurations that applied conf-change entries adopted to the core, then send messages,
// then answer proposals and reads (waiting.ts), then advance. While the fsync runs, inputs keep being
// stepped into the core (allowed between ready() and advance()) and form the next Ready: group commit.
import { isRaftError, type Message, type RaftNode, type Ready, type Role } from '@raftkv/consensus';
import { performance } from 'node:perf_hooks';
import { fromRaftError, RaftkvError, StorageFailure, TooManyRequestsError, UnavailableError } from '../errors.js';
import type { LogContext, Logger } from '../observability/logger.js';
import type { RaftObserver } from '../observability/node-observability.js';
import type { CommandResponse } from '../storage/command.js';
import type { ReadyStorage, ReadyWritten } from '../storage/ready-store.js';
import { logRaftEvents } from './event-log.js';
import { WaitingRequests, type ReadCallback } from './waiting.js';

/** A persist slower than this is logged: it delays heartbeats and can cost leadership. */
const SLOW_PERSIST_MS = 100;

export interface DriverDeps {
  readonly id: string;
  readonly node: RaftNode;
  /** Persists and applies each Ready, and makes it durable (ready-store.ts). */
  readonly storage: ReadyStorage;
  readonly logger: Logger;
  readonly logContext: LogContext;
  /** Sends messages to peers; must not block. */
  readonly send: (messages: readonly Message[]) => void;
  /** The node can no longer make progress safely (disk failure): stop it. */
  readonly onFatal: (err: Error) => void;
  /** Metrics and status watchers: told about every handled Ready (after its replies went out). */
  readonly observer?: RaftObserver | undefined;
  /** Refuses a command the cluster cannot apply yet (node/cluster-version.ts); null admits it. */
  readonly admit?: ((data: Uint8Array) => RaftkvError | null) | undefined;
  /** Admission control of proposals (defaults: DEFAULT_PROPOSAL_LIMITS). */
  readonly limits?: ProposalLimits | undefined;
}

/** Bounds on what a leader holds for proposals not yet answered; past them it answers "too many requests". */
export interface ProposalLimits {
  readonly maxPending: number;
  readonly maxPendingBytes: number;
  /** etcd's maxGapBetweenApplyAndCommitIndex: refuse while applying lags committing by more. */
  readonly maxApplyLag: number;
}

export const DEFAULT_PROPOSAL_LIMITS: ProposalLimits = { maxPending: 10_000, maxPendingBytes: 128 << 20, maxApplyLag: 5000 };

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
  /**
   * A Ready whose fsync, or snapshot install, is in flight; ready() is not called again before it is
   * advanced, so nothing else is written meanwhile.
   */
  private syncing: Ready | null = null;
  private driving = false;
  /** Wakes the core at its next deadline (RaftNode.nextDeadline), which may be a while away: no fixed tick. */
  private tickTimer: NodeJS.Timeout | null = null;
  /** When tickTimer fires (performance.now() clock). */
  private tickDue = Infinity;

  private readonly waiting = new WaitingRequests();
  private readonly leaderWatchers = new Set<() => void>();
  private readonly stateWatchers = new Set<() => void>();

  constructor(private readonly d: DriverDeps) {
    const hs = d.storage.hardState();
    this.term = hs.term;
    this.commit = hs.commit;
    this.updateContext();
  }

  start(): void {
    this.schedule();
  }

  /**
   * Tells the core the time. Every input goes after it, so the core's clock (leases, timers it
   * starts) is current without a fixed-rate tick; a deadline that passed meanwhile fires here.
   */
  private clock(): void {
    this.d.node.tick(performance.now());
  }

  /**
   * A deadline came. The tick itself waits for the next setImmediate (drive): timers run before the
   * poll phase, so after a stall of this process the messages already in its sockets (the leader's
   * heartbeat, the followers' answers) are delivered first, and a deadline that only passed because
   * this node was not running does not fire against a live peer.
   */
  private readonly onTimer = (): void => {
    this.tickTimer = null;
    this.tickDue = Infinity;
    if (this.stopped) return;
    this.schedule();
  };

  /**
   * Sleeps until the core's next deadline. A timer set for an earlier moment is kept (it fires, finds
   * nothing due and re-arms), so a stream of inputs that keep pushing the deadline back (a follower's
   * heartbeats) costs no timer churn; one that moved it earlier re-arms.
   */
  private armTimer(): void {
    if (this.stopped) return;
    const due = this.d.node.nextDeadline();
    if (this.tickTimer !== null && this.tickDue <= due) return;
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    this.tickDue = due;
    // Timers fire on whole milliseconds; never early, so one wake-up does the work.
    this.tickTimer = setTimeout(this.onTimer, Math.max(1, Math.ceil(due - performance.now())));
  }

  // ---- inputs ----

  /** A message from a peer (already validated by the transport). */
  step(m: Message): void {
    if (this.stopped) return;
    try {
      // The time, but no deadline yet: this message may be the one that keeps it from firing (onTimer).
      this.d.node.observe(performance.now());
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
    this.clock();
    const r = f(this.d.node);
    this.schedule();
    return r;
  }

  /**
   * The transport saw peer `id`'s connection close. If it is our leader, the core cuts its election
   * timeout short (PreVote keeps that safe; RaftNode.peerDisconnected).
   */
  peerLost(id: string): void {
    if (this.stopped || id !== this.leader) return;
    this.d.logger.info('the leader closed its connection; electing early unless it is back', { leader: id });
    this.clock();
    this.d.node.peerDisconnected(id);
    this.schedule();
  }

  /** Leader only: replicates an encoded Command (storage/command.ts); resolves with the state machine's answer once applied. */
  propose(data: Uint8Array): Promise<CommandResponse> {
    return new Promise((resolve, reject) => {
      const refusal = this.refusal() ?? this.d.admit?.(data) ?? this.overload(data.length);
      if (refusal) return reject(refusal);
      this.waiting.queueProposal(data, { resolve, reject });
      this.schedule();
    });
  }

  /** Leader only: a ReadIndex round; `cb` runs (synchronously, in the driver loop) once a linearizable read may be served locally. */
  readIndex(cb: ReadCallback): void {
    const refusal = this.refusal();
    if (refusal) return cb(refusal);
    this.waiting.queueRead(cb);
    this.schedule();
  }

  /** Admission control: a proposal that would exceed a limit is refused before it is queued. */
  private overload(bytes: number): TooManyRequestsError | null {
    const l = this.d.limits ?? DEFAULT_PROPOSAL_LIMITS;
    const p = this.waiting.proposals;
    if (this.commit - this.d.storage.appliedIndex() > l.maxApplyLag) return new TooManyRequestsError('applying lags committing');
    // One proposal is always admitted, however large: a limit must not make a valid request impossible.
    if (p.count > 0 && (p.count >= l.maxPending || p.bytes + bytes > l.maxPendingBytes)) {
      return new TooManyRequestsError(`${p.count} proposals (${p.bytes} bytes) pending`);
    }
    return null;
  }

  private refusal(): UnavailableError | null {
    if (!this.accepting || this.fatal)
      return new UnavailableError('node is shutting down', this.leader === this.d.id ? '' : this.leader, true);
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
      this.clock();
      const refusalFor = (e: unknown): Error => this.refusalFor(e);
      this.waiting.flushProposals((data) => this.d.node.propose(data), refusalFor);
      this.waiting.flushReads((id) => this.d.node.readIndex(id), this.term, refusalFor);
      // While a Ready's fsync (or snapshot install) runs, heartbeats and a leader's appends still leave.
      if (this.syncing !== null) {
        const early = this.d.node.takeMessagesBeforePersist();
        if (early.length > 0) this.d.send(early);
      }
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
    this.armTimer();
  }

  /** A core refusal in the server's terms (errors.ts maps it by RaftError.code); anything else is a bug. */
  private refusalFor(e: unknown): Error {
    if (isRaftError(e)) return fromRaftError(e, this.leader);
    return e instanceof Error ? e : new Error(String(e));
  }

  private handleReady(rd: Ready): void {
    const snap = rd.snapshot;
    if (!snap) {
      this.persist(rd);
      return;
    }
    // Step 0: replace the state machine and the whole log, durably, before anything else of the Ready.
    // It runs off the event loop (heartbeats and clients are served meanwhile); the Ready is held as
    // during an fsync, and the rest of it is handled once the install is done.
    this.syncing = rd;
    this.d.storage.installSnapshot(snap).then(
      () => this.resume(rd, null),
      (e: unknown) =>
        this.resume(rd, new StorageFailure(`could not install snapshot ${snap.index}: ${(e as Error).message}`, { cause: e })),
    );
  }

  /** The held Ready's snapshot install is done (or failed: fatal): handle the rest of it, then what arrived meanwhile. */
  private resume(rd: Ready, err: StorageFailure | null): void {
    this.syncing = null;
    if (this.stopped) return;
    try {
      if (err) throw err;
      this.persist(rd);
    } catch (e) {
      this.die(e as Error);
      return;
    }
    this.drive();
  }

  /** Steps 1-3 of a Ready (its snapshot, if any, is installed). */
  private persist(rd: Ready): void {
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
    if (rd.events.length > 0) logRaftEvents(this.d.logger, rd.events);

    // A leader's appends and heartbeats promise nothing about its own disk (the core counts the
    // leader's log toward commit only after advance), so they leave before its fsync and the
    // followers persist in parallel with it (Raft thesis §10.2.1). Anything else waits for the fsync.
    const early = rd.messagesBeforePersist;
    if (early) this.d.send(rd.messages);

    // 1 + 3: persist and apply, atomically, in one transaction; then one fsync, off the event loop.
    const t0 = performance.now();
    let written: ReadyWritten;
    try {
      written = this.d.storage.write(rd);
    } catch (e) {
      throw new StorageFailure(`could not persist a Ready: ${(e as Error).message}`, { cause: e });
    }
    // Applied conf-change entries: the core adopts each configuration, in log order, as it is applied.
    for (const conf of written.confs) this.d.node.applyConf(conf);
    if (!rd.mustSync) {
      // Nothing to make durable: a commit index and applied entries are re-derived from the durable
      // log after a crash (see ReadyStore.write).
      this.readyDone(rd, early, prevRole, prevTerm, written, t0);
      return;
    }
    this.syncing = rd;
    this.d.storage.sync((err) => {
      this.syncing = null;
      if (this.stopped) return;
      try {
        if (err) throw new StorageFailure(`could not fsync the log: ${err.message}`);
        this.readyDone(rd, early, prevRole, prevTerm, written, t0);
      } catch (e) {
        this.die(e as Error);
        return;
      }
      this.drive(); // whatever arrived during the fsync is the next Ready
    });
  }

  /** The Ready is durable: send what waited for it, answer proposals and reads, advance. */
  private readyDone(rd: Ready, early: boolean, prevRole: Role, prevTerm: number, written: ReadyWritten, t0: number): void {
    const wrote = rd.entries.length > 0 || rd.hardState !== null || rd.committedEntries.length > 0;
    const ms = performance.now() - t0;
    if (ms > SLOW_PERSIST_MS) {
      this.d.logger.warn('slow disk: persisting a Ready took long', {
        ms: Math.round(ms),
        entries: rd.entries.length,
        applied: rd.committedEntries.length,
      });
    }
    // 2: only now may messages that promise what we persisted leave.
    if (!early && rd.messages.length > 0) this.d.send(rd.messages);

    // Answer proposals whose entries were applied, and reads the leader confirmed once applied.
    this.waiting.answerApplied(rd.committedEntries, written.outcomes, this.leader);
    this.waiting.confirmReads(rd.readStates);
    this.waiting.serveReads(this.d.storage.appliedIndex());

    if (prevRole === 'leader' && (this.role !== 'leader' || this.term !== prevTerm)) this.failLeaderWork();
    this.d.node.advance(rd);
    if (rd.softState) this.notify(this.leaderWatchers);
    this.notify(this.stateWatchers);
    this.d.observer?.readyHandled(rd, wrote ? ms / 1000 : null);
  }

  /** Leadership lost: every proposal and read still waiting on this leader fails now, not at its deadline. */
  private failLeaderWork(): void {
    const leader = this.leader === this.d.id ? '' : this.leader;
    this.waiting.failAll({
      proposed: new UnavailableError('leadership lost; the command may or may not be applied', leader),
      queued: new UnavailableError('leadership lost before the command was proposed', leader, true),
      reads: new UnavailableError('leadership lost before the read was confirmed', leader, true),
      confirmedReads: null, // confirmed while leader: served once applied
    });
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
    return { role: this.role, term: this.term, leaderId: this.leader, commit: this.commit, applied: this.d.storage.appliedIndex() };
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
    // No target named: the core's choice, the most caught-up voter (as when it hands off itself).
    const target = to === '' ? this.d.node.transferTarget() : to;
    if (target === '') throw new UnavailableError('no other voter to transfer leadership to', '');
    try {
      this.d.node.transferLeadership(target);
    } catch (e) {
      throw this.refusalFor(e);
    }
    this.schedule();
    // A leader that removed itself is sent nothing once it steps down, so it never learns who
    // succeeded it: for it, stepping down is the hand-over.
    const handedOver = (): boolean =>
      this.role !== 'leader' && (this.leader !== '' || !this.d.node.status().conf.voters.includes(this.d.id));
    while (!handedOver() && !this.stopped && Date.now() < deadlineMs) await this.waitForLeaderChange(deadlineMs);
    if (!handedOver())
      throw new UnavailableError(`leadership transfer to ${target} did not complete in time`, this.leader === this.d.id ? '' : this.leader);
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
    return this.waiting.size;
  }

  /** Stops the loop and fails whatever is still waiting. */
  stop(reason = 'node is shutting down'): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.waiting.failAll(new UnavailableError(reason, this.leader === this.d.id ? '' : this.leader));
    this.notify(this.leaderWatchers);
    this.notify(this.stateWatchers);
  }

  private die(e: Error): void {
    if (this.fatal) return;
    this.fatal = true;
    this.d.logger.error('fatal: the node stops to avoid diverging', {
      error: e.message,
      kind: e.name,
      stack: e instanceof RaftkvError ? undefined : e.stack,
    });
    this.stop(e instanceof StorageFailure ? 'storage failure' : 'internal error');
    this.d.onFatal(e);
  }
}
