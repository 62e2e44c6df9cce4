// The etcd v3 Maintenance face (etcdserverpb.Maintenance) as raftkv serves it: Alarm. A GET is sent
// again freely; ACTIVATE and DEACTIVATE are idempotent in etcd's alarm store, so they are too.
import { etcdserverpb } from '@raftkv/proto';
import type { EtcdCallOptions, Partial3 } from './etcd-kv.js';
import type { Endpoints } from './endpoints.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { unary } from './unary.js';

export class EtcdMaintenance {
  constructor(
    private readonly eps: Endpoints,
    private readonly policy: RetryPolicy,
    private readonly timeoutMs: number,
  ) {}

  alarm(req: Partial3<etcdserverpb.AlarmRequest>, o: EtcdCallOptions = {}): Promise<etcdserverpb.AlarmResponse> {
    const r = etcdserverpb.AlarmRequest.fromPartial(req);
    const deadline = Date.now() + (o.timeoutMs ?? this.timeoutMs);
    return withRetries(
      this.eps,
      'idempotent',
      deadline,
      this.policy,
      (s, d) => unary((q, md, op, cb) => s.maintenance.alarm(q, md, op, cb), r, d),
      o.onFailedAttempt,
    );
  }
}
