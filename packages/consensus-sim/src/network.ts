// The simulated network between nodes: every message gets a random delay (so messages reorder),
// may be dropped or duplicated, and links can be cut, in one direction or both, or slowed down.
// Cuts apply when a message is sent and again when it would arrive, so a partition also swallows
// what was already on the wire.
import type { Message, NodeId } from '@raftkv/consensus';
import { MinHeap } from './heap.js';
import type { Rng } from './rng.js';

export interface NetworkOptions {
  /** One-way latency drawn uniformly from [delayMinMs, delayMaxMs] per message (integers). */
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (each copy with its own delay). */
  dupRate: number;
}

export const PERFECT_NETWORK: NetworkOptions = { delayMinMs: 1, delayMaxMs: 1, dropRate: 0, dupRate: 0 };

export interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly msg: Message;
  /** What travels alongside the message: a snapshot's data. */
  readonly data: Uint8Array | undefined;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

const link = (from: NodeId, to: NodeId): string => `${from}>${to}`;

export class SimNetwork {
  options: NetworkOptions;
  /** Scenario hook: return true to drop a message at send time (e.g. "lose S1's appends to S3"). */
  dropFilter: ((msg: Message) => boolean) | null = null;
  /** Told when a message carrying data is lost, at the time it would have arrived (a failed stream). */
  onLost: ((msg: Message, atMs: number) => void) | null = null;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  private readonly queue = new MinHeap<InFlight>();
  private readonly cuts = new Set<string>();
  private readonly extraDelayMs = new Map<string, number>();
  private seq = 0;

  constructor(
    readonly ids: readonly NodeId[],
    private readonly rng: Rng,
    options: Partial<NetworkOptions> = {},
  ) {
    this.options = { ...PERFECT_NETWORK, ...options };
  }

  send(msg: Message, nowMs: number, data?: Uint8Array): void {
    this.stats.sent++;
    if (this.isCut(msg.from, msg.to) || this.dropFilter?.(msg) || this.rng.chance(this.options.dropRate)) {
      this.stats.dropped++;
      if (data !== undefined) this.onLost?.(msg, nowMs + this.delayMs(msg));
      return;
    }
    this.enqueue(msg, nowMs, data);
    if (this.rng.chance(this.options.dupRate)) {
      this.stats.duplicated++;
      this.enqueue(msg, nowMs, data);
    }
  }

  private delayMs(msg: Message): number {
    const { delayMinMs, delayMaxMs } = this.options;
    return this.rng.int(delayMinMs, delayMaxMs) + (this.extraDelayMs.get(link(msg.from, msg.to)) ?? 0);
  }

  private enqueue(msg: Message, nowMs: number, data: Uint8Array | undefined): void {
    this.queue.push({ at: nowMs + this.delayMs(msg), seq: this.seq++, msg, data });
  }

  /** Time of the next arrival, or Infinity. */
  nextArrivalMs(): number {
    return this.queue.peek()?.at ?? Infinity;
  }

  /** The next message due at or before nowMs that survives the current cuts. */
  receive(nowMs: number): InFlight | undefined {
    for (;;) {
      const top = this.queue.peek();
      if (top === undefined || top.at > nowMs) return undefined;
      this.queue.pop();
      if (this.isCut(top.msg.from, top.msg.to)) {
        this.stats.dropped++;
        if (top.data !== undefined) this.onLost?.(top.msg, top.at);
        continue;
      }
      this.stats.delivered++;
      return top;
    }
  }

  get inFlight(): number {
    return this.queue.size;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.size > 0 && this.cuts.has(link(from, to));
  }

  /** Cut from → to only (an asymmetric partition: `to` still reaches `from`). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(link(from, to));
  }

  /**
   * Cut every link between two nodes that share no group; nodes in no group are isolated. Groups
   * may overlap: a node in two groups bridges sides that cannot reach each other (non-transitive).
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of this.ids) {
      for (const b of this.ids) {
        if (a !== b && !groups.some((g) => g.includes(a) && g.includes(b))) this.cutOneWay(a, b);
      }
    }
  }

  /** Cut a node off in both directions. */
  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cutOneWay(id, other);
      this.cutOneWay(other, id);
    }
  }

  /** Add latency to one direction of a link (a slow or clogged link). */
  slowLink(from: NodeId, to: NodeId, extraMs: number): void {
    this.extraDelayMs.set(link(from, to), extraMs);
  }

  /** Restore every link and its latency; faulty rates and filters are left to the caller. */
  heal(): void {
    this.cuts.clear();
    this.extraDelayMs.clear();
  }

  cutCount(): number {
    return this.cuts.size;
  }
}
