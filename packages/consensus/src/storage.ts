import type { ConfState, Entry, HardState, SnapshotMeta, Storage } from './types.js';

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };
const NO_SNAPSHOT: SnapshotMeta = { index: 0, term: 0, conf: { voters: [], learners: [] } };

/**
 * A Storage held in memory: what the simulator persists to, and a reference for drivers.
 * The driver side (append/setHardState/setConfState/createSnapshot/applySnapshot) follows the Ready
 * contract.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private confState: ConfState | null = null;
  private snap: { meta: SnapshotMeta; data: Uint8Array } = { meta: NO_SNAPSHOT, data: new Uint8Array(0) };
  /** The entry just before the log: the compaction point. Invariant: base.index <= snap.meta.index. */
  private base = { index: 0, term: 0 };
  /** Invariant: log[i].index === base.index + 1 + i. */
  private log: Entry[] = [];

  initialState(): { hardState: HardState; confState: ConfState | null } {
    return { hardState: this.hardState, confState: this.confState };
  }

  firstIndex(): number {
    return this.base.index + 1;
  }

  lastIndex(): number {
    return this.base.index + this.log.length;
  }

  term(index: number): number {
    if (index === this.base.index) return this.base.term;
    const e = this.log[index - this.base.index - 1];
    if (e === undefined) throw new RangeError(`term(${index}): out of range [${this.base.index}, ${this.lastIndex()}]`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.base.index || hi > this.lastIndex() + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}): out of range [${this.base.index + 1}, ${this.lastIndex() + 1}]`);
    }
    return limitSize(this.log.slice(lo - this.base.index - 1, hi - this.base.index - 1), maxBytes);
  }

  snapshotMeta(): SnapshotMeta {
    return this.snap.meta;
  }

  /** The latest snapshot with its state-machine data. */
  snapshot(): { meta: SnapshotMeta; data: Uint8Array } {
    return this.snap;
  }

  /** Discards every entry at or after entries[0].index, then appends. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index > this.lastIndex() + 1 || first.index <= this.base.index) {
      throw new RangeError(`append at ${first.index}: outside [${this.base.index + 1}, ${this.lastIndex() + 1}]`);
    }
    this.log.length = first.index - this.base.index - 1;
    this.log.push(...entries);
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  setConfState(cs: ConfState): void {
    this.confState = cs;
  }

  /**
   * Record a snapshot of the state machine as of the applied `index`, then drop the log up to
   * `compactTo` (<= index). Keeping a tail after compactTo lets slow followers catch up from the log
   * instead of needing the whole snapshot.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array, compactTo: number = index): void {
    if (index <= this.snap.meta.index) return;
    this.snap = { meta: { index, term: this.term(index), conf }, data };
    const to = Math.min(compactTo, index);
    if (to <= this.base.index) return;
    const term = this.term(to);
    this.log = this.log.slice(to - this.base.index);
    this.base = { index: to, term };
  }

  /** Replace everything with a snapshot received from the leader (Ready.snapshot). */
  applySnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    this.snap = { meta, data };
    this.base = { index: meta.index, term: meta.term };
    this.log = [];
    this.confState = meta.conf;
    if (this.hardState.commit < meta.index) this.hardState = { ...this.hardState, commit: meta.index };
  }
}

/** The longest prefix within maxBytes of entry data, but never less than one entry. */
export function limitSize<T extends { readonly data: Uint8Array }>(entries: T[], maxBytes: number): T[] {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += entries[i]!.data.byteLength;
    if (bytes > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}
