import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

/** A grpc-js unary call as a promise (rejects with the ServiceError, whose code and trailers classify it). */
export function unary<T>(start: (md: Metadata, cb: (e: ServiceError | null, r?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start(new Metadata(), (e, r) => (e ? reject(e) : resolve(r as T))));
}

/** "CODE: details" of a failed call, for histories and reports. */
export function describeError(err: ServiceError): string {
  return `${status[err.code] ?? err.code}: ${err.details ?? err.message}`;
}

/**
 * Whether a failed write certainly did not happen: the server said it was not applied (its retry
 * trailer), it rejected the request, or grpc-js never sent it. Anything else may have happened.
 */
export function certainlyNotApplied(err: ServiceError): boolean {
  if (err.code === status.INVALID_ARGUMENT) return true;
  if (err.code === status.UNAVAILABLE && err.metadata?.get(RETRY_HEADER)[0] === '1') return true;
  // grpc-js never opened a stream: the request did not leave this process.
  return err.code === status.UNAVAILABLE && /^No connection established/.test(err.details ?? '');
}

/** Trailer the server sets when a command certainly did not and will not enter the log. */
const RETRY_HEADER = 'raftkv-retry';
