// The Raft log as the core sees it: the durable prefix (Storage) plus an unstable tail of entries not
// yet handed to or acknowledged by the driver (cf. etcd raft log.go / log_unstable.go).
import { limitSize } from './storage.js';
import type { Entry, SnapshotMeta, Storage } from './types.js';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

/**
 * What is not yet persisted: perhaps a snapshot from the leader, then entries.
 * Invariants: entries[i].index === offset + i; with a snapshot, offset === snapshot.index + 1.
 */
class Unstable {
  snapshot: SnapshotMeta | undefined;
  constructor(
    public offset: number,
    public entries: Entry[] = [],
  ) {}

  lastIndex(): number | undefined {
    return this.entries.length > 0 ? this.offset + this.entries.length - 1 : undefined;
  }

  term(index: number): number | undefined {
    return this.entries[index - this.offset]?.term;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...ents);
    } else if (after <= this.offset) {
      // Replaces the whole tail and part of storage: the driver discards stored entries >= after.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** The driver has persisted up to (index, term): drop what is now durable. */
  stableTo(index: number, term: number): void {
    if (this.term(index) !== term) return; // replaced meanwhile; a later Ready carries the new tail
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }
}

export class RaftLog {
  private readonly unstable: Unstable;
  /** Highest index known to be committed. Invariant: applied <= committed <= lastIndex(). */
  committed: number;
  /** Highest index handed to the driver to apply (and acknowledged by advance). */
  applied: number;

  constructor(
    private readonly storage: Storage,
    committed: number,
  ) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = committed;
    this.applied = storage.firstIndex() - 1;
  }

  firstIndex(): number {
    const snap = this.unstable.snapshot;
    return snap ? snap.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    const snap = this.unstable.snapshot;
    return this.unstable.lastIndex() ?? (snap ? snap.index : this.storage.lastIndex());
  }

  /** Highest index known durable: a leader counts itself in quorums only up to here. */
  persistedIndex(): number {
    return this.unstable.offset - 1;
  }

  /** Term of the entry at index, or undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    const snap = this.unstable.snapshot;
    if (snap && index <= snap.index) return index === snap.index ? snap.term : undefined;
    if (index >= this.unstable.offset) return this.unstable.term(index);
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), from storage and the unstable tail, within maxBytes (at least one). */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < off) {
      out = this.storage.entries(lo, Math.min(hi, off), maxBytes);
      if (out.length < Math.min(hi, off) - lo) return out; // size limit reached inside storage
    }
    if (hi > off) {
      out = out.concat(this.unstable.entries.slice(Math.max(lo, off) - off, hi - off));
    }
    return limitSize(out, maxBytes);
  }

  /**
   * The receiver side of AppendEntries (Figure 2): if our log has (prevIndex, prevTerm), append
   * `ents` after deleting any conflicting suffix, advance commit, and return the index of the last
   * new entry; otherwise undefined.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== undefined) {
      if (conflict <= this.committed) {
        throw new SafetyViolation(`entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      }
      this.append(ents.slice(conflict - ents[0]!.index));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Index of the first entry of ents that is new or differs in term from ours; undefined if none. */
  private findConflict(ents: readonly Entry[]): number | undefined {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return undefined;
  }

  /**
   * The largest index <= index whose term is <= term (fast log back-up, thesis §5.3 / etcd): no
   * entry above it can match a log whose entry at `index` has `term`.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
      i--;
    }
  }

  append(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    if (ents[0]!.index - 1 < this.committed) {
      throw new SafetyViolation(`append at ${ents[0]!.index} would overwrite committed entries (committed ${this.committed})`);
    }
    this.unstable.truncateAndAppend(ents);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) {
      throw new SafetyViolation(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
    return true;
  }

  /** Figure 8: a leader commits by counting replicas only entries of its own term. */
  maybeCommit(index: number, term: number): boolean {
    return index > this.committed && this.term(index) === term && this.commitTo(index);
  }

  /**
   * Replace the log with a snapshot from the leader (thesis §5.3): everything up to its index is
   * committed, and whatever we held is discarded when the driver installs it.
   */
  restore(snap: SnapshotMeta): void {
    this.unstable.snapshot = snap;
    this.unstable.offset = snap.index + 1;
    this.unstable.entries = [];
    this.committed = snap.index;
  }

  unstableSnapshot(): SnapshotMeta | undefined {
    return this.unstable.snapshot;
  }

  /** The driver installed the snapshot: its index is now both durable and applied. */
  snapshotInstalled(snap: SnapshotMeta): void {
    if (this.unstable.snapshot?.index === snap.index) this.unstable.snapshot = undefined;
    if (snap.index > this.applied) this.applied = snap.index;
  }

  hasUnstable(): boolean {
    return this.unstable.entries.length > 0;
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > this.applied;
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    return this.entries(this.applied + 1, this.committed + 1, maxBytes);
  }

  appliedTo(index: number): void {
    if (index > this.committed || index < this.applied) {
      throw new SafetyViolation(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }
}
