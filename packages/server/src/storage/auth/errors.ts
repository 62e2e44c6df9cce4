// etcd 3.4's auth errors, with the exact gRPC codes and messages etcd clients match on
// (go.etcd.io/etcd/etcdserver/api/v3rpc/rpctypes/error.go). They are EtcdErrors: refusals that depend
// only on the replicated state, so every node applying the same entry refuses it alike.
import { status } from '@grpc/grpc-js';
import { EtcdError } from '../mvcc/errors.js';

export class EtcdAuthError extends EtcdError {
  override readonly name = 'EtcdAuthError';
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

const make = (code: status, message: string) => (): EtcdAuthError => new EtcdAuthError(code, message);

export const rootUserNotExist = make(status.FAILED_PRECONDITION, 'etcdserver: root user does not exist');
export const rootRoleNotExist = make(status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role');
export const userAlreadyExist = make(status.FAILED_PRECONDITION, 'etcdserver: user name already exists');
export const userEmpty = make(status.INVALID_ARGUMENT, 'etcdserver: user name is empty');
export const userNotFound = make(status.FAILED_PRECONDITION, 'etcdserver: user name not found');
export const roleAlreadyExist = make(status.FAILED_PRECONDITION, 'etcdserver: role name already exists');
export const roleNotFound = make(status.FAILED_PRECONDITION, 'etcdserver: role name not found');
export const roleEmpty = make(status.INVALID_ARGUMENT, 'etcdserver: role name is empty');
export const authFailed = make(status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password');
export const permissionDenied = make(status.PERMISSION_DENIED, 'etcdserver: permission denied');
export const roleNotGranted = make(status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user');
export const permissionNotGranted = make(status.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role');
export const authNotEnabled = make(status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled');
export const invalidAuthToken = make(status.UNAUTHENTICATED, 'etcdserver: invalid auth token');
export const invalidAuthMgmt = make(status.INVALID_ARGUMENT, 'etcdserver: invalid auth management');
