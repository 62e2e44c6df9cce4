// A unary gRPC call as a promise: how every client in this package (forwarding, --join, raftctl, the
// live view) makes one.
import { Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';

export type UnaryCallback<T> = (err: ServiceError | null, res?: T) => void;

export interface UnaryOptions {
  /** Date.now() clock; Infinity for none. */
  readonly deadline: number;
  readonly metadata?: Metadata;
}

/**
 * Starts the call with `start` and settles with its answer; it rejects with the ServiceError as
 * received (mapping it is the caller's business). `o` is a deadline, or a timeout in ms from now.
 */
export function unary<T>(start: (md: Metadata, opts: CallOptions, cb: UnaryCallback<T>) => unknown, o: UnaryOptions | number): Promise<T> {
  const { deadline, metadata } = typeof o === 'number' ? { deadline: Date.now() + o, metadata: undefined } : o;
  return new Promise((resolve, reject) => {
    start(metadata ?? new Metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
}
