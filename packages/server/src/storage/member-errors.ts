// etcd's membership errors with the exact gRPC codes and messages etcd clients and etcdctl show
// (go.etcd.io/etcd/etcdserver/api/v3rpc/rpctypes/error.go, 3.4).
import { status } from '@grpc/grpc-js';
import { EtcdError } from './mvcc/errors.js';

/** One of etcd's membership refusals: `code` and `message` exactly as etcd answers. */
export class EtcdMemberError extends EtcdError {
  override readonly name = 'EtcdMemberError';
  constructor(
    readonly code: status,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const err = (code: status, message: string) => (): EtcdMemberError => new EtcdMemberError(code, message);

export const memberExists = err(status.FAILED_PRECONDITION, 'etcdserver: member ID already exist');
export const peerUrlExists = err(status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
export const notEnoughStarted = err(status.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members');
export const badUrls = err(status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
export const memberNotFound = err(status.NOT_FOUND, 'etcdserver: member not found');
export const tooManyLearners = err(status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster');
export const notLearner = err(status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
export const learnerNotReady = err(
  status.FAILED_PRECONDITION,
  'etcdserver: can only promote a learner member which is in sync with leader',
);
export const notLeader = err(status.FAILED_PRECONDITION, 'etcdserver: not leader');
export const badLeaderTransferee = err(status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');
