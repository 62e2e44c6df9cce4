// The requests waiting on the driver's loop: proposals queued for the core and those in the log
// waiting for their entry to be applied; reads queued for a ReadIndex round, rounds waiting for the
// leader's confirmation, and confirmed reads waiting for the state machine to reach their index.
// The driver feeds the queues to the core and hands over what each Ready resolves; `failAll` ends
// whatever still waits (leadership lost, shutdown).
import type { Entry, ReadState } from '@raftkv/consensus';
import { UnavailableError } from '../errors.js';
import type { CommandResponse } from '../storage/command.js';
import type { ApplyOutcome } from '../storage/state-machine.js';

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

interface PendingProposal extends Waiter<CommandResponse> {
  readonly term: number;
  readonly bytes: number;
}

/** Called once the read may be served: the state machine has applied at least the read index. */
export type ReadCallback = (err: Error | null) => void;

interface ReadRound {
  readonly term: number;
  readonly callbacks: ReadCallback[];
}

/** What each kind of waiting request fails with; a null keeps those waiting. */
export interface Failure {
  /** In the log: the command may or may not be applied. */
  readonly proposed: Error;
  /** Not yet handed to the core. */
  readonly queued: Error;
  /** Reads queued or in a round not yet confirmed. */
  readonly reads: Error;
  /** Confirmed reads waiting for the state machine. */
  readonly confirmedReads: Error | null;
}

export class WaitingRequests {
  private proposeQueue: { data: Uint8Array; waiter: Waiter<CommandResponse> }[] = [];
  private readonly pending = new Map<number, PendingProposal>();
  private readQueue: ReadCallback[] = [];
  private readonly readRounds = new Map<number, ReadRound>();
  /** Confirmed read indexes waiting for the state machine to catch up, in index order. */
  private readsAwaitingApply: { index: number; callbacks: ReadCallback[] }[] = [];
  private nextReadId = 1;
  private proposalBytes = 0;

  get size(): number {
    return this.pending.size + this.proposeQueue.length + this.readQueue.length + this.readRounds.size + this.readsAwaitingApply.length;
  }

  /** Proposals queued or in the log, not yet answered (what admission control bounds). */
  get proposals(): { readonly count: number; readonly bytes: number } {
    return { count: this.proposeQueue.length + this.pending.size, bytes: this.proposalBytes };
  }

  queueProposal(data: Uint8Array, waiter: Waiter<CommandResponse>): void {
    this.proposeQueue.push({ data, waiter });
    this.proposalBytes += data.length;
  }

  queueRead(cb: ReadCallback): void {
    this.readQueue.push(cb);
  }

  /**
   * Hands the queued proposals to the core in one batch (`propose` returns the first index and term
   * it gave them); when it throws, the batch fails with `refusal(e)`.
   */
  flushProposals(propose: (data: Uint8Array[]) => { firstIndex: number; term: number }, refusal: (e: unknown) => Error): void {
    const q = this.proposeQueue;
    if (q.length === 0) return;
    this.proposeQueue = [];
    let first: { firstIndex: number; term: number };
    try {
      first = propose(q.map((p) => p.data));
    } catch (e) {
      const err = refusal(e);
      for (const p of q) p.waiter.reject(err);
      this.proposalBytes -= q.reduce((n, p) => n + p.data.length, 0);
      return;
    }
    for (let i = 0; i < q.length; i++) {
      const { waiter: w, data } = q[i]!;
      this.pending.set(first.firstIndex + i, { term: first.term, bytes: data.length, resolve: w.resolve, reject: w.reject });
    }
  }

  /** Starts one ReadIndex round (`readIndex` with its request id) for every queued read, in `term`. */
  flushReads(readIndex: (requestId: number) => void, term: number, refusal: (e: unknown) => Error): void {
    const q = this.readQueue;
    if (q.length === 0) return;
    this.readQueue = [];
    const id = this.nextReadId++;
    try {
      readIndex(id);
    } catch (e) {
      const err = refusal(e);
      for (const cb of q) cb(err);
      return;
    }
    this.readRounds.set(id, { term, callbacks: q });
  }

  /** Answers the proposals whose entries were applied; outcomes[i] belongs to committed[i]. */
  answerApplied(committed: readonly Entry[], outcomes: readonly ApplyOutcome[], leader: string): void {
    if (this.pending.size === 0) return;
    for (let i = 0; i < committed.length; i++) {
      const e = committed[i]!;
      const p = this.pending.get(e.index);
      if (p === undefined) continue;
      this.pending.delete(e.index);
      this.proposalBytes -= p.bytes;
      const o = outcomes[i];
      const noOutcome = o === null || o === undefined || o.ok === null;
      if (p.term !== e.term) p.reject(new UnavailableError('the entry was replaced by a new leader; not applied', leader, true));
      else if (noOutcome) p.reject(new UnavailableError('the entry was applied without an outcome', leader));
      else if (o.ok) p.resolve(withLeader(o.response, leader));
      else p.reject(o.error);
    }
  }

  /** Read rounds the leader confirmed: each waits for the state machine to reach its index. */
  confirmReads(readStates: readonly ReadState[]): void {
    for (const rs of readStates) {
      const round = this.readRounds.get(rs.requestId);
      if (round === undefined) continue;
      this.readRounds.delete(rs.requestId);
      const q = this.readsAwaitingApply;
      q.push({ index: rs.index, callbacks: round.callbacks });
      if (q.length > 1 && q[q.length - 2]!.index > rs.index) q.sort((a, b) => a.index - b.index);
    }
  }

  /** Serves the confirmed reads whose index the state machine has reached. */
  serveReads(applied: number): void {
    let n = 0;
    while (n < this.readsAwaitingApply.length && this.readsAwaitingApply[n]!.index <= applied) n++;
    if (n === 0) return;
    const ready = this.readsAwaitingApply.splice(0, n);
    for (const r of ready) for (const cb of r.callbacks) cb(null);
  }

  /** Fails every waiting request (with one error, or one per kind); what a null spares keeps waiting. */
  failAll(why: Error | Failure): void {
    const f = why instanceof Error ? { proposed: why, queued: why, reads: why, confirmedReads: why } : why;
    for (const p of this.pending.values()) p.reject(f.proposed);
    this.pending.clear();
    for (const p of this.proposeQueue) p.waiter.reject(f.queued);
    this.proposeQueue = [];
    this.proposalBytes = 0;
    for (const cb of this.readQueue) cb(f.reads);
    this.readQueue = [];
    for (const r of this.readRounds.values()) for (const cb of r.callbacks) cb(f.reads);
    this.readRounds.clear();
    const confirmed = f.confirmedReads;
    if (confirmed === null) return;
    for (const r of this.readsAwaitingApply) for (const cb of r.callbacks) cb(confirmed);
    this.readsAwaitingApply = [];
  }
}

/** A raftkv.v1 answer names the leader that applied it. */
function withLeader(r: CommandResponse, leaderId: string): CommandResponse {
  return r.$case === 'propose' ? { $case: 'propose', propose: { ...r.propose, leaderId } } : r;
}
