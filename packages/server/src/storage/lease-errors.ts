// etcd's errors for the Lease API (rpctypes/error.go, 3.4): the exact codes and messages etcd clients
// match on. LeaseNotFoundError (a Put's too) lives with the MVCC store's errors.
import { status } from '@grpc/grpc-js';
import { EtcdError } from './mvcc/errors.js';

/** etcd's lease.MaxLeaseTTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

/** A grant named an id that is already a lease's (FAILED_PRECONDITION). */
export class LeaseExistsError extends EtcdError {
  override readonly name = 'LeaseExistsError';
  readonly code = status.FAILED_PRECONDITION;
  constructor() {
    super('etcdserver: lease already exists');
  }
}

/** A grant's TTL is above MAX_LEASE_TTL (OUT_OF_RANGE). */
export class LeaseTtlTooLargeError extends EtcdError {
  override readonly name = 'LeaseTtlTooLargeError';
  readonly code = status.OUT_OF_RANGE;
  constructor() {
    super('etcdserver: too large lease TTL');
  }
}
