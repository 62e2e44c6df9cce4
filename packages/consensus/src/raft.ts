// STUB: the public surface of the Raft core; the implementation is being written.
import { resolveConfig, type RaftConfig, type RaftOptions } from './config.js';
import type { Message, Ready, Status, Storage } from './types.js';

export class RaftNode {
  readonly config: RaftConfig;
  constructor(options: RaftOptions, readonly storage: Storage) {
    this.config = resolveConfig(options);
  }
  /** Advance the logical clock to nowMs (monotonic): fires election timeouts and heartbeats. */
  tick(nowMs: number): void { void nowMs; throw new Error('not implemented'); }
  /** Handle a message from a peer. Malformed or stale messages are dropped, never thrown. */
  step(msg: Message): void { void msg; throw new Error('not implemented'); }
  /** Leader only: append commands; returns the index of the first and the term. Throws NotLeaderError. */
  propose(data: readonly Uint8Array[]): { firstIndex: number; term: number } { void data; throw new Error('not implemented'); }
  /** Leader only: start a ReadIndex round; a ReadState with this requestId comes out in a later Ready. Throws NotLeaderError. */
  readIndex(requestId: number): void { void requestId; throw new Error('not implemented'); }
  /** Start an election now (tests, leadership transfer). */
  campaign(): void { throw new Error('not implemented'); }
  hasReady(): boolean { throw new Error('not implemented'); }
  ready(): Ready { throw new Error('not implemented'); }
  advance(ready: Ready): void { void ready; throw new Error('not implemented'); }
  status(): Status { throw new Error('not implemented'); }
}
