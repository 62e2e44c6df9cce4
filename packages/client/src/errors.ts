// What a failed call says about itself: whether the server promised the request was NOT applied, and
// which leader it knows of. These two trailers are the whole retry contract between raftkv and its
// clients (README "Retry contract"); a server that never sends them (etcd) gets no write retried
// except one that certainly never left this process.
import { status, type ServiceError } from '@grpc/grpc-js';

/** Trailer `raftkv-retry: 1`: the command certainly did not enter the log; it may be sent again anywhere. */
export const RETRY_TRAILER = 'raftkv-retry';
/** Trailer `raftkv-leader: <member id>`: the leader the answering node knows of. */
export const LEADER_TRAILER = 'raftkv-leader';

/** A status a call was rejected with (grpc-js's ServiceError). */
export function isServiceError(e: unknown): e is ServiceError {
  const se = e as Partial<ServiceError>;
  return e instanceof Error && typeof se.code === 'number' && typeof se.details === 'string';
}

/**
 * Whether the request was certainly not applied: the server said so (`raftkv-retry`), or no connection
 * was ever established, so the request never left this process.
 */
export function notApplied(e: ServiceError): boolean {
  if (e.metadata?.get(RETRY_TRAILER)[0] === '1') return true;
  return e.code === status.UNAVAILABLE && /No connection established|ECONNREFUSED|connection refused/i.test(e.details);
}

/** The leader named by the `raftkv-leader` trailer, or '' when none. */
export function leaderHint(e: ServiceError): string {
  const v = e.metadata?.get(LEADER_TRAILER)[0];
  return v === undefined ? '' : String(v);
}

/** Failures after which an idempotent call (a read, a write with a session) is sent again. */
export function retriableIfIdempotent(e: ServiceError): boolean {
  return e.code === status.UNAVAILABLE || e.code === status.DEADLINE_EXCEEDED;
}
