// A lock client's lease: granted on one node, kept alive every TTL/3 over a keep-alive stream that moves
// to another node when its stream fails. `abandon()` stops the renewals without revoking — what a
// crashed or frozen client does — so the lease expires on the server and frees the lock key.
import type { etcdserverpb } from '@raftkv/proto';
import type { Cluster } from './cluster.js';
import type { Random } from './random.js';
import { pickNode } from './targets.js';

type KeepAliveStream = ReturnType<Cluster['clients'][number]['lease']['keepAlive']>;

export class LockSession {
  /** The server said the lease is gone (a keep-alive answered TTL 0). */
  expired = false;
  /** When the last renewal was confirmed (ms, the run's clock). */
  renewedAt: number;
  private stream: KeepAliveStream | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly rand: Random,
    private readonly clock: () => number,
    readonly id: number,
    readonly ttlS: number,
  ) {
    this.renewedAt = clock();
    this.timer = setInterval(() => this.renew(), (ttlS * 1000) / 3);
  }

  private renew(): void {
    if (this.stream === undefined) {
      const s = this.cluster.clients[pickNode(this.cluster, this.rand)]!.lease.keepAlive();
      s.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
        if (r.TTL <= 0) this.expired = true;
        else this.renewedAt = this.clock();
      });
      s.on('error', () => {
        if (this.stream === s) this.stream = undefined;
      });
      s.on('end', () => {
        if (this.stream === s) this.stream = undefined;
      });
      this.stream = s;
    }
    this.stream.write({ ID: this.id });
  }

  /** Stops renewing (the lease will expire); the key stays until it does. */
  abandon(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
  }
}
