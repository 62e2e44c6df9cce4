import type { ConfState, Entry, HardState, Storage } from './types.js';

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

/**
 * A Storage held in memory: what the simulator persists to, and a reference for drivers.
 * The driver side (append/setHardState/setConfState) follows the Ready contract.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private confState: ConfState | null = null;
  // Invariant: log[i].index === i + 1 (no compaction yet).
  private log: Entry[] = [];

  initialState(): { hardState: HardState; confState: ConfState | null } {
    return { hardState: this.hardState, confState: this.confState };
  }

  firstIndex(): number {
    return 1;
  }

  lastIndex(): number {
    return this.log.length;
  }

  term(index: number): number {
    if (index === 0) return 0;
    const e = this.log[index - 1];
    if (e === undefined) throw new RangeError(`term(${index}): out of range [0, ${this.log.length}]`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < 1 || hi > this.log.length + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}): out of range [1, ${this.log.length + 1}]`);
    }
    return limitSize(this.log.slice(lo - 1, hi - 1), maxBytes);
  }

  /** Discards every entry at or after entries[0].index, then appends. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index > this.log.length + 1) {
      throw new RangeError(`append: gap, last index ${this.log.length}, appending at ${first.index}`);
    }
    this.log.length = first.index - 1;
    this.log.push(...entries);
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  setConfState(cs: ConfState): void {
    this.confState = cs;
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
