// The one call loop: try endpoints in order, follow a leader hint, and send a call again only when
// that is safe (README "Retry contract"):
// - 'idempotent' (reads, writes with an exactly-once session, admin calls the server treats as
//   idempotent): again after UNAVAILABLE or DEADLINE_EXCEEDED, on the next endpoint;
// - 'write' (no session): again only when it certainly was not applied (errors.ts notApplied).
// Anything else is the caller's answer as received.
import type { ServiceError } from '@grpc/grpc-js';
import type { Endpoints, Stubs } from './endpoints.js';
import { isServiceError, leaderHint, notApplied, retriableIfIdempotent } from './errors.js';

export type Safety = 'idempotent' | 'write';

/**
 * Told of every attempt that failed, retried or not (the last one too). A caller that must know whether
 * a write may have happened needs them all: an idempotent write (with a session) can be sent again after
 * an ambiguous failure and then be refused as not applied, yet the first attempt may still commit.
 */
export type AttemptObserver = (address: string, error: unknown) => void;

export interface RetryPolicy {
  /** Deadline of one attempt, in ms (capped by the call's deadline). */
  readonly attemptTimeoutMs: number;
  /** Pause after every endpoint was tried once, doubling up to maxBackoffMs. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** false: one attempt on the first endpoint, its error as received (a test or probe asking one node). */
  readonly retries?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The client's policy with a call's own overrides. */
export function policyFor(p: RetryPolicy, o: { readonly attemptTimeoutMs?: number; readonly retries?: boolean }): RetryPolicy {
  if (o.attemptTimeoutMs === undefined && o.retries === undefined) return p;
  return {
    ...p,
    ...(o.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: o.attemptTimeoutMs }),
    ...(o.retries === undefined ? {} : { retries: o.retries }),
  };
}

/** Whether a call of this safety may be sent again after `e`. */
export function mayRetry(safety: Safety, e: ServiceError): boolean {
  return notApplied(e) || (safety === 'idempotent' && retriableIfIdempotent(e));
}

export async function withRetries<T>(
  eps: Endpoints,
  safety: Safety,
  deadline: number,
  policy: RetryPolicy,
  attempt: (s: Stubs, deadline: number) => Promise<T>,
  onFailedAttempt?: AttemptObserver,
): Promise<T> {
  // A server without a leader answers "no leader" shortly before the deadline it was given (it waited
  // for one); an attempt started in the little time left could only end in DEADLINE_EXCEEDED, losing
  // that answer. So none starts with less than a quarter of the call's time (at most 1 s) left.
  const minAttemptMs = Math.min(1000, (deadline - Date.now()) / 4);
  const tooLate = (): boolean => deadline - Date.now() < minAttemptMs;
  let order = eps.order();
  let next = 0;
  let redirect: string | undefined;
  let pause = policy.backoffMs;
  for (;;) {
    const address = redirect ?? order[next++ % order.length]!;
    redirect = undefined;
    try {
      const r = await attempt(eps.stubs(address), Math.min(deadline, Date.now() + policy.attemptTimeoutMs));
      eps.prefer(address);
      return r;
    } catch (e) {
      onFailedAttempt?.(address, e);
      if (policy.retries === false || !isServiceError(e) || !mayRetry(safety, e)) throw e;
      if (tooLate()) throw e;
      const leader = leaderHint(e);
      const to = leader === '' ? undefined : await eps.addressOf(leader, deadline);
      if (to !== undefined && to !== address) {
        redirect = to;
        continue;
      }
      if (next % order.length === 0) {
        // Every endpoint refused once: wait a little (a leader may be being elected), then again.
        await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
        pause = Math.min(policy.maxBackoffMs, pause * 2);
        if (tooLate()) throw e;
        order = eps.order();
      }
    }
  }
}
