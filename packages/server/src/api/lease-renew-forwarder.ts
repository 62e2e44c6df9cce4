// A follower's keep-alives, forwarded to the leader (renewals do not go through the log, so only the
// leader's lessor can answer them; etcd forwards each over HTTP). Every keep-alive stream a follower
// serves shares ONE LeaseKeepAlive stream to the leader: a storm of thousands of leases is one stream
// of small messages, not thousands of calls. The leader answers in request order, so answers are
// matched to requests first-in first-out. When that stream breaks (the leader changed, or stepped
// down and refused the forwarded stream), the renewals in flight are sent again to the next leader:
// renewing twice is harmless. A renewal gives up at its deadline with etcd's "request timed out".
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import { ETCD_TIMEOUT, EtcdUnavailableError } from './grpc-errors.js';
import type { LeaderRouter } from './router.js';

type Upstream = {
  readonly leaderId: string;
  readonly stream: ClientDuplexStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>;
};

interface Pending {
  readonly id: number;
  readonly deadline: number;
  readonly resolve: (ttl: number) => void;
  readonly reject: (e: Error) => void;
}

/** How long a forwarded renewal may take (etcd's request timeout is 5 s plus two election timeouts). */
const DEFAULT_TIMEOUT_MS = 7000;
/** Pause before renewals that found no leader try again. */
const RETRY_MS = 50;

export class LeaseRenewForwarder {
  private up: Upstream | null = null;
  /** Sent on `up`, answered in this order. */
  private inFlight: Pending[] = [];
  /** Waiting for a leader. */
  private waiting: Pending[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly router: Pick<LeaderRouter, 'leaderKeepAlive'>,
    private readonly leaderId: () => string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  /** Renews lease `id` on the leader; resolves with the TTL the leader answered (0: no such lease). */
  renew(id: number): Promise<number> {
    return new Promise((resolve, reject) => this.send({ id, deadline: Date.now() + this.timeoutMs, resolve, reject }));
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const all = [...this.inFlight, ...this.waiting];
    this.inFlight = [];
    this.waiting = [];
    if (this.up) this.up.stream.cancel();
    this.up = null;
    for (const p of all) p.reject(new EtcdUnavailableError(ETCD_TIMEOUT, '', true));
  }

  private send(p: Pending): void {
    if (this.closed) return p.reject(new EtcdUnavailableError(ETCD_TIMEOUT, '', true));
    const up = this.upstream();
    if (up === null) {
      this.later(p);
      return;
    }
    this.inFlight.push(p);
    up.stream.write({ ID: p.id });
  }

  /** The stream to the current leader, opened when there is none or the leader changed. */
  private upstream(): Upstream | null {
    if (this.up !== null && this.up.leaderId === this.leaderId()) return this.up;
    if (this.up !== null) this.broken(this.up, true);
    const up = this.router.leaderKeepAlive();
    if (up === null) return null;
    up.stream.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => this.answered(up, r));
    up.stream.on('error', () => this.broken(up, false));
    up.stream.on('end', () => this.broken(up, false));
    this.up = up;
    return up;
  }

  private answered(up: Upstream, r: etcdserverpb.LeaseKeepAliveResponse): void {
    if (this.up !== up) return;
    const p = this.inFlight.shift();
    if (p === undefined) return;
    if (p.id !== r.ID) {
      // Out of step (should not happen): start over on a fresh stream rather than misanswer.
      this.inFlight.unshift(p);
      this.broken(up, true);
      return;
    }
    p.resolve(r.TTL);
  }

  /** `up` can no longer answer: what was in flight on it is sent again (to the next leader). */
  private broken(up: Upstream, cancel: boolean): void {
    if (this.up !== up) return;
    this.up = null;
    if (cancel) up.stream.cancel();
    const again = this.inFlight;
    this.inFlight = [];
    for (const p of again) this.later(p);
  }

  private later(p: Pending): void {
    if (Date.now() >= p.deadline) return p.reject(new EtcdUnavailableError(ETCD_TIMEOUT, this.leaderId(), true));
    this.waiting.push(p);
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const w = this.waiting;
      this.waiting = [];
      for (const q of w) this.send(q);
    }, RETRY_MS);
  }
}
