// STUB
import type { ConfState, Entry, HardState, Storage } from './types.js';
export class MemoryStorage implements Storage {
  initialState(): { hardState: HardState; confState: ConfState | null } { throw new Error('not implemented'); }
  firstIndex(): number { throw new Error('not implemented'); }
  lastIndex(): number { throw new Error('not implemented'); }
  term(index: number): number { void index; throw new Error('not implemented'); }
  entries(lo: number, hi: number, maxBytes: number): Entry[] { void lo; void hi; void maxBytes; throw new Error('not implemented'); }
  /** Discard entries >= entries[0].index, then append. */
  append(entries: readonly Entry[]): void { void entries; throw new Error('not implemented'); }
  setHardState(hs: HardState): void { void hs; throw new Error('not implemented'); }
  setConfState(cs: ConfState): void { void cs; throw new Error('not implemented'); }
}
