// The etcd v3 Lease face (etcdserverpb.Lease): grant, revoke, time-to-live, the lease list, and
// keep-alive streams. A grant or revoke is sent again only when it certainly was not applied (a second
// grant would make a second lease); time-to-live and the list are reads, sent again freely.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import type { Endpoints } from './endpoints.js';
import type { EtcdCallOptions } from './etcd-kv.js';
import { withRetries, type RetryPolicy, type Safety } from './retry.js';
import { unary } from './unary.js';

export type LeaseKeepAliveStream = ClientDuplexStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>;

export class EtcdLease {
  constructor(
    private readonly eps: Endpoints,
    private readonly policy: RetryPolicy,
    private readonly timeoutMs: number,
  ) {}

  /** TTL in seconds; ID 0: the server chooses one. */
  grant(req: Partial<etcdserverpb.LeaseGrantRequest>, o: EtcdCallOptions = {}): Promise<etcdserverpb.LeaseGrantResponse> {
    const r = etcdserverpb.LeaseGrantRequest.fromPartial(req);
    return this.call('write', o, (s, d) => unary((q, md, op, cb) => s.lease.leaseGrant(q, md, op, cb), r, d));
  }

  revoke(id: number, o: EtcdCallOptions = {}): Promise<etcdserverpb.LeaseRevokeResponse> {
    return this.call('write', o, (s, d) => unary((q, md, op, cb) => s.lease.leaseRevoke(q, md, op, cb), { ID: id }, d));
  }

  timeToLive(id: number, keys: boolean, o: EtcdCallOptions = {}): Promise<etcdserverpb.LeaseTimeToLiveResponse> {
    return this.call('idempotent', o, (s, d) => unary((q, md, op, cb) => s.lease.leaseTimeToLive(q, md, op, cb), { ID: id, keys }, d));
  }

  leases(o: EtcdCallOptions = {}): Promise<etcdserverpb.LeaseLeasesResponse> {
    return this.call('idempotent', o, (s, d) => unary((q, md, op, cb) => s.lease.leaseLeases(q, md, op, cb), {}, d));
  }

  /** A keep-alive stream on the endpoint that answered last (any node serves it: followers forward). */
  keepAlive(): LeaseKeepAliveStream {
    return this.eps.stubs(this.eps.order()[0]!).lease.leaseKeepAlive();
  }

  private call<T>(safety: Safety, o: EtcdCallOptions, attempt: Parameters<typeof withRetries<T>>[4]): Promise<T> {
    return withRetries(this.eps, safety, Date.now() + (o.timeoutMs ?? this.timeoutMs), this.policy, attempt, o.onFailedAttempt);
  }
}
