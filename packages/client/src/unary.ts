// A unary call as a promise, with a deadline (Date.now() clock) and optional metadata.
import { Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';

export type UnaryCallback<T> = (err: ServiceError | null, res?: T) => void;
/** How a generated client's unary method is called. */
export type UnaryMethod<Req, Res> = (req: Req, md: Metadata, opts: CallOptions, cb: UnaryCallback<Res>) => unknown;

export function unary<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadline: number, metadata?: Metadata): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, metadata ?? new Metadata(), { deadline }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}
