// The one place internal errors become gRPC statuses (and back, for forwarded calls).
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { RaftkvError, UnavailableError } from '../errors.js';

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
  ) {
    super(details);
  }
}

export function toStatus(e: unknown): Partial<StatusObject> {
  const metadata = new Metadata();
  if (e instanceof UnavailableError) {
    if (e.safeToRetry) metadata.set(RETRY_HEADER, '1');
    if (e.leaderId) metadata.set(LEADER_HEADER, e.leaderId);
  }
  if (e instanceof RaftkvError) return { code: e.code, details: e.message, metadata };
  return { code: status.INTERNAL, details: e instanceof Error ? e.message : String(e), metadata };
}

/** Maps an error from a forwarded call back to an internal error. */
export function fromServiceError(err: ServiceError): RaftkvError {
  const retry = err.metadata?.get(RETRY_HEADER)[0] === '1';
  const leader = String(err.metadata?.get(LEADER_HEADER)[0] ?? '');
  if (retry) return new UnavailableError('the leader refused the call', leader, true);
  // The connection to the leader could not be made: the request never left this node.
  if (err.code === status.UNAVAILABLE && /No connection established|ECONNREFUSED|connection refused/i.test(err.details)) {
    return new UnavailableError(`the leader is unreachable: ${err.details}`, leader, true);
  }
  return new RemoteStatusError(err.code, err.details);
}
