// etcd's quotaAlarmer (v3rpc/quota.go): before a write that costs space is proposed, the leader checks
// the storage quota; a write that does not fit is refused with "database space exceeded" and a NOSPACE
// alarm is raised cluster-wide through the log, after which every node refuses such writes at apply
// time until an operator disarms it (etcdctl alarm disarm).
import { etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import type { Logger } from '../observability/logger.js';
import { encodeCommand } from '../storage/command.js';
import { NoSpaceError } from '../storage/mvcc/errors.js';
import type { BackendQuota } from '../storage/quota.js';

export class QuotaAlarmer {
  private raising = false;

  constructor(
    private readonly quota: BackendQuota,
    private readonly driver: RaftDriver,
    /** This node's etcd member id (member-id.ts): the alarm names the member whose database is full. */
    private readonly memberId: number,
    private readonly logger: Logger,
  ) {}

  /** Throws NoSpaceError, raising the alarm, when a write costing `cost` bytes does not fit. */
  check(cost: number): void {
    if (this.quota.available(cost)) return;
    this.raise();
    throw new NoSpaceError();
  }

  private raise(): void {
    if (this.raising) return;
    this.raising = true;
    const alarm = {
      action: etcdserverpb.AlarmRequest_AlarmAction.ACTIVATE,
      memberID: this.memberId,
      alarm: etcdserverpb.AlarmType.NOSPACE,
    };
    this.logger.warn('storage quota exhausted: raising the NOSPACE alarm', {
      usedBytes: this.quota.usedBytes(),
      quotaBytes: this.quota.maxBytes,
    });
    this.driver.propose(encodeCommand({ $case: 'alarm', alarm })).then(
      () => (this.raising = false),
      (e: unknown) => {
        this.raising = false;
        this.logger.warn('could not raise the NOSPACE alarm; the next refused write tries again', { error: (e as Error).message });
      },
    );
  }
}
