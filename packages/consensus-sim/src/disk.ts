// The simulated disk behind each node's driver. Synchronous by default: a Ready is written in the
// instant it is handled, as the basic Ready contract reads. Asynchronous when asked: a write takes
// simulated time (a storage thread's fsync), and the node keeps stepping messages, ticks and client
// requests into its core meanwhile — the contract's second relaxation. A write is one transaction:
// a crash while it is under way keeps all of it or none of it.
import type { NodeId, Ready } from '@raftkv/consensus';
import type { Rng } from './rng.js';

export interface DiskOptions {
  /** Writes take time and overlap with new input (relaxation 2); false: written at once. */
  asyncPersist: boolean;
  /** A write takes 0..fastMaxMs ms... */
  fastMaxMs: number;
  /** ...or, with this probability, slowMinMs..slowMaxMs (a slow disk: a fault, off after healing). */
  slowChance: number;
  slowMinMs: number;
  slowMaxMs: number;
  /** Nodes whose every write is slow (a bad disk: lets a new leader's word overtake a write under way). */
  slowDisks: readonly NodeId[];
  /** A crash during a write keeps the whole write with this probability, else loses all of it. */
  keepOnCrash: number;
}

export const SYNC_DISK: DiskOptions = {
  asyncPersist: false,
  fastMaxMs: 0,
  slowChance: 0,
  slowMinMs: 0,
  slowMaxMs: 0,
  slowDisks: [],
  keepOnCrash: 0,
};

/** Whether a Ready writes anything durable (what a persist, and a torn crash, is about). */
export function writes(rd: Ready): boolean {
  return rd.entries.length > 0 || rd.hardState !== null || rd.snapshot !== null;
}

/** One node's disk: draws from its own stream, so its draws never shift anyone else's. */
export class SimDisk {
  constructor(
    /** Shared by the cluster's disks, so a test (or the heal) can change them all at once. */
    readonly options: DiskOptions,
    private readonly rng: Rng,
    private readonly id: NodeId,
  ) {}

  /** A test pins this disk's write latency (asynchronous disks only); null: drawn. */
  writeMs: number | null = null;

  get async(): boolean {
    return this.options.asyncPersist;
  }

  /** How long writing `rd` takes. A Ready with nothing to write completes at once (still later in the same ms). */
  latencyMs(rd: Ready): number {
    if (!writes(rd)) return 0;
    if (this.writeMs !== null) return this.writeMs;
    const o = this.options;
    if (o.slowDisks.includes(this.id) || this.rng.chance(o.slowChance)) return this.rng.int(o.slowMinMs, o.slowMaxMs);
    return this.rng.int(0, o.fastMaxMs);
  }

  /** An armed torn crash: strike while the write is under way (else after it, before sending). */
  tornCrashStrikesMidWrite(): boolean {
    return this.rng.chance(0.5);
  }

  /** When, within a write taking latencyMs, a crash strikes. */
  crashPointMs(latencyMs: number): number {
    return this.rng.int(0, latencyMs);
  }

  /** A crash struck during a write: does the transaction survive whole? */
  keepsWriteOnCrash(): boolean {
    return this.rng.chance(this.options.keepOnCrash);
  }
}
