// How a failed call is recorded: Jepsen's FAILED (the operation certainly did not happen) or
// INDETERMINATE (it may have, now or later). The client may send a call more than once (a session
// write after an ambiguous failure, any write the server refused as not applied), so the verdict
// looks at every attempt: one attempt that may have happened makes the whole operation indeterminate.
import { status } from '@grpc/grpc-js';
import { isServiceError, notApplied } from '@raftkv/client';

/** "CODE: details" of a failed call, for histories and reports. */
export function describeError(e: unknown): string {
  if (!isServiceError(e)) return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return `${status[e.code] ?? e.code}: ${e.details ?? e.message}`;
}

/**
 * Whether one failed attempt certainly did not happen: the server rejected the request
 * (INVALID_ARGUMENT, checked before anything is proposed), said it was not applied (`raftkv-retry`),
 * or grpc-js never sent it. Anything else — including a failure that is not a gRPC status — may have.
 */
export function certainlyNotApplied(e: unknown): boolean {
  return isServiceError(e) && (e.code === status.INVALID_ARGUMENT || notApplied(e));
}

/** Collects a call's failed attempts (pass `observer` as the call's onFailedAttempt). */
export class Attempts {
  private maybe = false;
  readonly observer = (_address: string, e: unknown): void => {
    this.maybe ||= !certainlyNotApplied(e);
  };

  /** Whether any failed attempt so far may have been applied. */
  get mayHaveHappened(): boolean {
    return this.maybe;
  }
}
