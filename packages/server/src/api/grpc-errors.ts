// The one place internal errors become gRPC statuses (and back, for forwarded calls). A core refusal
// (RaftError) is answered by the status its `code` names (errors.ts fromRaftError).
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { isRaftError } from '@raftkv/consensus';
import { fromRaftError, RaftkvError, UnavailableError } from '../errors.js';

/** Trailer set when the command certainly did not enter the log: the caller may retry it anywhere. */
export const RETRY_HEADER = 'raftkv-retry';
/** Trailer naming the leader this node knows of. */
export const LEADER_HEADER = 'raftkv-leader';

/** A status received from another node, passed through unchanged. */
export class RemoteStatusError extends RaftkvError {
  override readonly name = 'RemoteStatusError';
  constructor(
    readonly code: status,
    details: string,
    options?: ErrorOptions,
  ) {
    super(details, options);
  }
}

/**
 * An UNAVAILABLE answer of the etcd API, with etcd's exact message (clients match on it); like any
 * UnavailableError it carries the retry and leader trailers.
 */
export class EtcdUnavailableError extends UnavailableError {
  constructor(message: string, leaderId: string, safeToRetry: boolean, options?: ErrorOptions) {
    super(message, leaderId, safeToRetry, options);
    this.message = message; // without UnavailableError's "(leader: ...)" suffix
  }
}

/** etcd's rpctypes messages for UNAVAILABLE. */
export const ETCD_NO_LEADER = 'etcdserver: no leader';
export const ETCD_TIMEOUT = 'etcdserver: request timed out';
const ETCD_TIMEOUT_LEADER_FAIL = 'etcdserver: request timed out, possibly due to previous leader failure';
const ETCD_LEADER_CHANGED = 'etcdserver: leader changed';

/**
 * The status an etcdserverpb call answers with: etcd's own errors as they are; the node's other
 * UNAVAILABLE reasons in etcd's words (not applied: "leader changed"; maybe applied: "request timed
 * out, possibly due to previous leader failure"), trailers kept.
 */
export function toEtcdStatus(err: unknown): Partial<StatusObject> {
  const e = isRaftError(err) ? fromRaftError(err, '') : err;
  if (e instanceof UnavailableError && !(e instanceof EtcdUnavailableError)) {
    const msg = e.safeToRetry ? ETCD_LEADER_CHANGED : ETCD_TIMEOUT_LEADER_FAIL;
    return toStatus(new EtcdUnavailableError(msg, e.leaderId, e.safeToRetry, { cause: e }));
  }
  return toStatus(e);
}

export function toStatus(err: unknown): Partial<StatusObject> {
  const e = isRaftError(err) ? fromRaftError(err, '') : err;
  const metadata = new Metadata();
  if (e instanceof UnavailableError) {
    if (e.safeToRetry) metadata.set(RETRY_HEADER, '1');
    if (e.leaderId) metadata.set(LEADER_HEADER, e.leaderId);
  }
  if (e instanceof RaftkvError) return { code: e.code, details: e.message, metadata };
  return { code: status.INTERNAL, details: e instanceof Error ? e.message : String(e), metadata };
}

/** The error a call to another node rejected with (not one thrown before the call started). */
export function isServiceError(e: unknown): e is ServiceError {
  const se = e as Partial<ServiceError>;
  return e instanceof Error && typeof se.code === 'number' && typeof se.details === 'string';
}

/** Maps an error from a forwarded call back to an internal error. */
export function fromServiceError(err: ServiceError): RaftkvError {
  const retry = err.metadata?.get(RETRY_HEADER)[0] === '1';
  const leader = String(err.metadata?.get(LEADER_HEADER)[0] ?? '');
  if (retry) return new UnavailableError('the leader refused the call', leader, true, { cause: err });
  // The connection to the leader could not be made: the request never left this node.
  if (err.code === status.UNAVAILABLE && /No connection established|ECONNREFUSED|connection refused/i.test(err.details)) {
    return new UnavailableError(`the leader is unreachable: ${err.details}`, leader, true, { cause: err });
  }
  return new RemoteStatusError(err.code, err.details, { cause: err });
}
