// etcd's errors for the KV API, with the exact gRPC codes and messages that etcd clients match on
// (go.etcd.io/etcd/etcdserver/api/v3rpc/rpctypes/error.go, 3.4).
import { status } from '@grpc/grpc-js';
import { RaftkvError } from '../../errors.js';

export abstract class EtcdError extends RaftkvError {}

/** A malformed request, rejected before it changes anything. */
export class EtcdInvalidArgumentError extends EtcdError {
  override readonly name = 'EtcdInvalidArgumentError';
  readonly code = status.INVALID_ARGUMENT;
}

export const emptyKey = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: key is not provided');
export const keyNotFound = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: key not found');
export const valueProvided = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: value is provided');
export const leaseProvided = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: lease is provided');
export const tooManyOps = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: too many operations in txn request');
export const requestTooLarge = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: request is too large');
export const duplicateKey = (): EtcdInvalidArgumentError => new EtcdInvalidArgumentError('etcdserver: duplicate key given in txn request');

/** The revision asked for was compacted away (OUT_OF_RANGE). */
export class CompactedError extends EtcdError {
  override readonly name = 'CompactedError';
  readonly code = status.OUT_OF_RANGE;
  constructor() {
    super('etcdserver: mvcc: required revision has been compacted');
  }
}

/** The revision asked for is above the store's current revision (OUT_OF_RANGE). */
export class FutureRevisionError extends EtcdError {
  override readonly name = 'FutureRevisionError';
  readonly code = status.OUT_OF_RANGE;
  constructor() {
    super('etcdserver: mvcc: required revision is a future revision');
  }
}

/** A Put named a lease that does not exist (NOT_FOUND). */
export class LeaseNotFoundError extends EtcdError {
  override readonly name = 'LeaseNotFoundError';
  readonly code = status.NOT_FOUND;
  constructor() {
    super('etcdserver: requested lease not found');
  }
}

/** The storage quota (--quota-backend-bytes) is exhausted or a NOSPACE alarm is raised (RESOURCE_EXHAUSTED). */
export class NoSpaceError extends EtcdError {
  override readonly name = 'NoSpaceError';
  readonly code = status.RESOURCE_EXHAUSTED;
  constructor() {
    super('etcdserver: mvcc: database space exceeded');
  }
}

/** A Range answer would exceed the node's --max-range-bytes (RESOURCE_EXHAUSTED; raftkv's, not etcd's). */
export class RangeTooLargeError extends EtcdError {
  override readonly name = 'RangeTooLargeError';
  readonly code = status.RESOURCE_EXHAUSTED;
  constructor(maxBytes: number) {
    super(
      `etcdserver: range response is larger than ${maxBytes} bytes (--max-range-bytes): ` +
        'read it in pages with limit (etcdctl get --limit, then from the last key), or ask for keys_only or count_only',
    );
  }
}

/** Counts the bytes of a Range answer as it is read; throws RangeTooLargeError past `maxBytes`. */
export class ByteBudget {
  private used = 0;
  constructor(readonly maxBytes: number) {}
  spend(n: number): void {
    this.used += n;
    if (this.used > this.maxBytes) throw new RangeTooLargeError(this.maxBytes);
  }
}
