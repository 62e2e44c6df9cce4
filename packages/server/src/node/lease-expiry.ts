// Runs the leader's lessor (lessor.ts): promotes it when this node becomes leader (at once, on the
// driver's leader change) and demotes it when leadership is lost; every tick proposes a revoke for
// each expired lease, at most `maxRevokesPerTick` of them (etcd's leaseRevokeRate is 1000/s), all in
// one batch the driver steps into the core together, so an expiry storm is a few log entries per
// tick, never a loop that keeps the core from its heartbeats. Followers propose nothing.
// Expiry revokes as root (etcd's WithRoot), so auth never keeps an expired lease's keys alive.
import type { Logger } from '../observability/logger.js';
import { encodeCommand } from '../storage/command.js';
import { ROOT } from '../storage/auth/auth-store.js';
import type { Lessor } from './lessor.js';

export interface LeaseExpiryDeps {
  readonly lessor: Lessor;
  readonly isLeader: () => boolean;
  readonly term: () => number;
  /** Resolves on the next leader change, or at the deadline (Date.now() clock). */
  readonly waitForLeaderChange: (deadlineMs: number) => Promise<void>;
  /** Proposes an encoded command on this node (the leader). */
  readonly propose: (data: Uint8Array) => Promise<unknown>;
  readonly logger: Logger;
  /** etcd checks for expired leases every 500 ms. */
  readonly tickMs?: number;
  readonly maxRevokesPerTick?: number;
}

export class LeaseExpiry {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The term this lessor was promoted in; 0 while it is not primary. */
  private promotedTerm = 0;

  constructor(private readonly d: LeaseExpiryDeps) {}

  start(): void {
    const every = this.d.tickMs ?? 500;
    this.timer = setInterval(() => this.tick(), every);
    void this.followLeadership();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Promote or demote the lessor to match this node's role now. */
  sync(): void {
    const leader = this.d.isLeader();
    const term = this.d.term();
    if (leader && this.promotedTerm !== term) {
      this.d.lessor.promote();
      this.promotedTerm = term;
      this.d.logger.info('lessor promoted: every lease renewed for its full TTL', { leases: this.d.lessor.size });
    } else if (!leader && this.promotedTerm !== 0) {
      this.d.lessor.demote();
      this.promotedTerm = 0;
    }
  }

  private async followLeadership(): Promise<void> {
    while (!this.stopped) {
      this.sync();
      await this.d.waitForLeaderChange(Date.now() + 60_000);
    }
  }

  private tick(): void {
    if (this.stopped) return;
    this.sync();
    const ids = this.d.lessor.expired(this.d.maxRevokesPerTick ?? 500);
    for (const id of ids) {
      this.d.propose(encodeCommand({ $case: 'leaseRevoke', leaseRevoke: { ID: id } }, ROOT)).catch((e: unknown) => {
        // Gone already, or leadership moved: the lessor proposes it again later if it is still due.
        this.d.logger.debug('revoking an expired lease failed', { lease: id, error: (e as Error).message });
      });
    }
    if (ids.length > 0) this.d.logger.debug('proposed revokes of expired leases', { count: ids.length });
  }
}
