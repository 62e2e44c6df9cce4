// ReadIndex bookkeeping on the leader (thesis §6.4, cf. etcd raft read_only.go).
//
// A read may be served at the commit index the leader had when the read arrived, once the leader
// has proven it was still leader after that moment: a heartbeat round acknowledged by a majority.
// Reads arriving between two Ready batches share one round; an acknowledgement of a round also
// acknowledges every earlier round (the follower saw the leader after all of them were opened).
import { hasQuorum } from './quorum.js';
import type { NodeId, ReadState } from './types.js';

interface Round {
  readonly ctx: number;
  readonly index: number;
  readonly requestIds: number[];
  readonly acks: Set<NodeId>;
}

export class ReadOnly {
  private rounds: Round[] = [];
  private lastCtx = 0;
  /** A round opened since the last heartbeat broadcast, to be sent with the next one. */
  unsent: number | undefined;

  /** Queue a read at commit index `index`; returns the round it joined. */
  add(requestId: number, index: number, self: NodeId): void {
    const open = this.rounds.at(-1);
    if (this.unsent !== undefined && open !== undefined && open.ctx === this.unsent && open.index === index) {
      open.requestIds.push(requestId);
      return;
    }
    const ctx = ++this.lastCtx;
    this.rounds.push({ ctx, index, requestIds: [requestId], acks: new Set([self]) });
    this.unsent = ctx;
  }

  /** The newest round's context, carried by heartbeats so that their acks confirm it. */
  latestCtx(): number {
    return this.rounds.at(-1)?.ctx ?? 0;
  }

  /** `from` answered a heartbeat carrying ctx; release every round now confirmed by a majority. */
  ack(from: NodeId, ctx: number, voters: readonly NodeId[]): ReadState[] {
    if (ctx === 0) return [];
    let confirmed = -1;
    for (let i = 0; i < this.rounds.length; i++) {
      const r = this.rounds[i]!;
      if (r.ctx > ctx) break;
      r.acks.add(from);
      if (hasQuorum(voters, (v) => r.acks.has(v))) confirmed = i;
    }
    if (confirmed < 0) return [];
    const released = this.rounds.splice(0, confirmed + 1);
    return released.flatMap((r) => r.requestIds.map((requestId) => ({ requestId, index: r.index })));
  }

  pendingCount(): number {
    return this.rounds.reduce((n, r) => n + r.requestIds.length, 0);
  }

  /** Leadership is lost: pending reads can no longer be confirmed by us. */
  reset(): void {
    this.rounds = [];
    this.unsent = undefined;
  }
}
