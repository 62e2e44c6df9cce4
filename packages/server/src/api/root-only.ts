// Admin, membership and maintenance calls need the root role once auth is enabled (etcd's
// IsAdminPermitted): wraps the named handlers (unary or server-streaming) of a service so a caller
// without root is refused before the handler runs.
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type StatusObject } from '@grpc/grpc-js';
import { EtcdAuthError, invalidAuthToken, permissionDenied, userEmpty, userNotFound } from '../storage/auth/errors.js';
import type { AuthGate } from './auth-gate.js';
import { toStatus } from './grpc-errors.js';

type ServerStream = (call: ServerWritableStream<unknown, unknown>) => void;
type Handler = (call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>, cb?: sendUnaryData<unknown>) => void;
type ToStatus = (e: unknown) => Partial<StatusObject>;

/** etcd's auth package errors by the message of their etcdserver (gRPC) counterpart. */
const RAW_AUTH_ERRORS = new Map<string, string>([
  [permissionDenied().message, 'auth: permission denied'],
  [userEmpty().message, 'auth: user name is empty'],
  [userNotFound().message, 'auth: user not found'],
  [invalidAuthToken().message, 'auth: invalid auth token'],
]);

/**
 * etcd 3.4's authMaintenanceServer returns the auth package's own errors, which gRPC sends as UNKNOWN
 * "auth: permission denied" (etcdctl prints exactly that): the refusals of Defragment, Snapshot, Hash, HashKV.
 */
export function maintenanceAuthStatus(e: unknown): Partial<StatusObject> {
  const raw = e instanceof EtcdAuthError ? RAW_AUTH_ERRORS.get(e.message) : undefined;
  return raw === undefined ? toStatus(e) : { code: status.UNKNOWN, details: raw };
}

export function rootOnly<T extends object>(
  handlers: T,
  gate: AuthGate,
  methods: readonly (keyof T & string)[],
  refusal: ToStatus = toStatus,
): T {
  return guarded(handlers, gate, methods, (_call, cb, e) => cb?.(refusal(e)));
}

/** rootOnly for server-streaming handlers (etcd's Maintenance Snapshot): the stream ends with the refusal. */
export function rootOnlyStreams<T extends object>(
  handlers: T,
  gate: AuthGate,
  methods: readonly (keyof T & string)[],
  refusal: ToStatus = toStatus,
): T {
  return guarded(handlers, gate, methods, (call, _cb, e) => void (call as Parameters<ServerStream>[0]).emit('error', refusal(e)));
}

function guarded<T extends object>(
  handlers: T,
  gate: AuthGate,
  methods: readonly string[],
  refuse: (call: Parameters<Handler>[0], cb: Parameters<Handler>[1], e: unknown) => void,
): T {
  const out: Record<string, unknown> = { ...(handlers as Record<string, unknown>) };
  for (const m of methods) {
    const h = (handlers as Record<string, unknown>)[m];
    // A service type with an index signature accepts any name: a misspelt one fails at start, not open.
    if (typeof h !== 'function') throw new Error(`rootOnly: the service has no handler ${m}`);
    const inner = h as Handler;
    const guard: Handler = (call, cb) => {
      try {
        gate.requireRoot(call);
      } catch (e) {
        refuse(call, cb, e);
        return;
      }
      inner(call, cb);
    };
    out[m] = guard;
  }
  return out as T;
}
