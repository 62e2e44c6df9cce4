// A leader's view of one follower's log (cf. etcd raft tracker/progress.go, thesis §10.2.1).
import type { Progress as ProgressView } from './types.js';

/**
 * Append messages in flight to one follower, by the last index each carried, oldest first.
 * Bounds pipelining: the leader stops sending when `full()`.
 */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  constructor(private readonly capacity: number) {}

  add(lastIndex: number): void {
    this.lastIndexes.push(lastIndex);
  }

  /** The follower acknowledged up to index: every message ending at or before it has landed. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= index) n++;
    if (n > 0) this.lastIndexes.splice(0, n);
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }

  /** Presume the oldest message lost, to reopen a window that would otherwise stay full. */
  freeFirst(): void {
    this.lastIndexes.shift();
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  get count(): number {
    return this.lastIndexes.length;
  }
}

/**
 * Snapshot: the follower is behind our first log entry and is being sent a snapshot.
 * Probe: we do not know where the follower's log matches; send one append at a time and back up on
 * rejection. Replicate: it matches at `match`; stream entries optimistically, bounded by inflights.
 * Invariant: 0 <= match < next.
 */
export class Progress {
  match = 0;
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Probe only: an append is outstanding; wait for its answer or the next heartbeat response. */
  probeSent = false;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    public next: number,
    maxInflight: number,
  ) {
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.next = this.match + 1;
    this.inflights.reset();
  }

  /** The follower needs entries we compacted away: it gets a snapshot, and nothing else until it lands. */
  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.inflights.reset();
  }

  /** An acknowledgement up to n; false if it is stale. */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) {
      this.next = Math.max(this.next, n + 1);
      return false;
    }
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.probeSent = false;
    return true;
  }

  /** We sent entries up to n without waiting for an answer. */
  sentTo(n: number): void {
    if (this.state === 'replicate') {
      this.next = n + 1;
      this.inflights.add(n);
    } else {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is where it may match. Returns false when
   * the rejection is stale (an answer to an older message).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.state === 'probe' ? this.probeSent : this.inflights.full();
  }

  view(): ProgressView {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      recentActive: this.recentActive,
      inflight: this.inflights.count,
    };
  }
}
