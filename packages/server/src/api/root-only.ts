// Admin, membership and maintenance calls need the root role once auth is enabled (etcd's
// IsAdminPermitted): wraps the named unary handlers of a service so a caller without root is refused
// before the handler runs.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { AuthGate } from './auth-gate.js';
import { toStatus } from './grpc-errors.js';

type Unary = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;

export function rootOnly<T extends object>(handlers: T, gate: AuthGate, methods: readonly (keyof T & string)[]): T {
  const out: Record<string, unknown> = { ...(handlers as Record<string, unknown>) };
  for (const m of methods) {
    const inner = handlers[m] as unknown as Unary;
    const guarded: Unary = (call, cb) => {
      try {
        gate.requireRoot(call);
      } catch (e) {
        cb(toStatus(e));
        return;
      }
      inner(call, cb);
    };
    out[m] = guarded;
  }
  return out as T;
}
