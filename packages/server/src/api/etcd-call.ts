// What every etcd service handler shares: etcd's response header, serving a read after a ReadIndex
// round, and waiting for a proposal's answer no longer than the caller's deadline allows.
import type { etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import type { HeaderIds } from '../storage/member-id.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { ETCD_TIMEOUT, EtcdUnavailableError } from './grpc-errors.js';
import { inTime } from './in-time.js';

export interface WithHeader {
  header?: etcdserverpb.ResponseHeader | undefined;
}

/**
 * etcd's v3rpc header.fill: this node's ids and term; the revision the answer reflects (the store's
 * current one when the applier left it 0).
 */
export function headerFiller(driver: RaftDriver, sm: KvStateMachine, ids: HeaderIds): <T extends WithHeader>(r: T) => T {
  return <T extends WithHeader>(r: T): T => ({
    ...r,
    header: {
      clusterId: ids.clusterId,
      memberId: ids.memberId,
      raftTerm: driver.view().term,
      revision: r.header?.revision || sm.store.currentRevision(),
    },
  });
}

/** Runs `read` once a linearizable read may be served here (ReadIndex on the leader). */
export function afterReadIndex<T>(driver: RaftDriver, read: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    driver.readIndex((err) => {
      if (err) return reject(err);
      try {
        resolve(read());
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/**
 * The state machine's answer, or etcd's "request timed out" once `byMs` (Date.now() clock) passes: the
 * entry may still be applied later, so the caller must not assume it was not.
 */
export function withTimeout<T>(p: Promise<T>, byMs: number, leaderId: string): Promise<T> {
  return inTime(p, byMs, () => new EtcdUnavailableError(ETCD_TIMEOUT, leaderId, false));
}
