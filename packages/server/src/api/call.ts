// What a service handler reads from its call (the deadline) and how it answers (errors become
// statuses in grpc-errors.ts).
import type { Deadline, sendUnaryData, StatusObject } from '@grpc/grpc-js';
import { toStatus } from './grpc-errors.js';

/**
 * The one deadline rule: the caller's deadline (Date.now() clock), or `defaultMs` from now when it
 * set none (Infinity: wait as long as it takes).
 */
export function deadlineOf(call: { getDeadline(): Deadline }, defaultMs = Infinity): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : Date.now() + defaultMs;
}

/**
 * Settles a unary call from a promise; errors become statuses (`status`: toStatus, or the etcd API's
 * toEtcdStatus). `done` learns the outcome and duration.
 */
export function answer<T>(
  p: Promise<T>,
  cb: sendUnaryData<T>,
  done?: (ok: boolean, seconds: number) => void,
  status: (e: unknown) => Partial<StatusObject> = toStatus,
): void {
  const t0 = done === undefined ? 0 : performance.now();
  p.then(
    (r) => {
      done?.(true, (performance.now() - t0) / 1000);
      cb(null, r);
    },
    (e: unknown) => {
      done?.(false, (performance.now() - t0) / 1000);
      cb(status(e));
    },
  );
}
