// The etcd v3 KV face (etcdserverpb.KV): Range, Put, DeleteRange, Txn, Compact. etcd writes have no
// sessions, so a write is sent again only when it certainly was not applied; Range and a Txn whose
// operations are all ranges are reads, sent again freely.
import { etcdserverpb } from '@raftkv/proto';
import type { Endpoints } from './endpoints.js';
import type { CompactionResponse, DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse } from './etcd-service.js';
import { policyFor, withRetries, type AttemptObserver, type RetryPolicy, type Safety } from './retry.js';
import { unary } from './unary.js';

/** Per-call options. */
export interface EtcdCallOptions {
  /** Overrides the client's timeoutMs for this call. */
  readonly timeoutMs?: number;
  /** Told of every failed attempt of this call (see AttemptObserver). */
  readonly onFailedAttempt?: AttemptObserver;
  /** false: a single attempt on the first endpoint, whatever its error (default true: the retry contract). */
  readonly retries?: boolean;
}

/** etcd's prefix range end: the prefix with its last byte incremented (trailing 0xff bytes dropped); "\0" for all 0xff. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** A request with any field left out (the protobuf default), at any depth; oneof cases keep their $case. */
export type Partial3<T> = T extends Buffer
  ? T
  : T extends (infer U)[]
    ? Partial3<U>[]
    : T extends { $case: string }
      ? { [K in keyof T]?: Partial3<T[K]> } & { $case: T['$case'] }
      : T extends object
        ? { [K in keyof T]?: Partial3<T[K]> }
        : T;

/** The generated fromPartial's type parameter is a self-referential Exact<...> no plain type satisfies; the shape is Partial3's. */
const full = <T>(fromPartial: (o: never) => T, req: NoInfer<Partial3<T>>): T => fromPartial(req as never);

/** Whether every operation of a txn (nested ones included) only reads. */
export function txnIsReadOnly(t: etcdserverpb.TxnRequest): boolean {
  const ro = (op: etcdserverpb.RequestOp): boolean =>
    op.request === undefined ||
    op.request.$case === 'requestRange' ||
    (op.request.$case === 'requestTxn' && txnIsReadOnly(op.request.requestTxn));
  return t.success.every(ro) && t.failure.every(ro);
}

export class EtcdKV {
  constructor(
    private readonly eps: Endpoints,
    private readonly policy: RetryPolicy,
    private readonly timeoutMs: number,
  ) {}

  range(req: Partial3<etcdserverpb.RangeRequest>, o: EtcdCallOptions = {}): Promise<RangeResponse> {
    const r = full(etcdserverpb.RangeRequest.fromPartial, req);
    return this.call('idempotent', o, (s, d) => unary((q, md, op, cb) => s.etcd.range(q, md, op, cb), r, d));
  }

  put(req: Partial3<etcdserverpb.PutRequest>, o: EtcdCallOptions = {}): Promise<PutResponse> {
    const r = full(etcdserverpb.PutRequest.fromPartial, req);
    return this.call('write', o, (s, d) => unary((q, md, op, cb) => s.etcd.put(q, md, op, cb), r, d));
  }

  deleteRange(req: Partial3<etcdserverpb.DeleteRangeRequest>, o: EtcdCallOptions = {}): Promise<DeleteRangeResponse> {
    const r = full(etcdserverpb.DeleteRangeRequest.fromPartial, req);
    return this.call('write', o, (s, d) => unary((q, md, op, cb) => s.etcd.deleteRange(q, md, op, cb), r, d));
  }

  txn(req: Partial3<etcdserverpb.TxnRequest>, o: EtcdCallOptions = {}): Promise<TxnResponse> {
    const r = full(etcdserverpb.TxnRequest.fromPartial, req);
    return this.call(txnIsReadOnly(r) ? 'idempotent' : 'write', o, (s, d) => unary((q, md, op, cb) => s.etcd.txn(q, md, op, cb), r, d));
  }

  /** A compaction is not sent again after an ambiguous failure: the second would fail "compacted". */
  compact(req: Partial3<etcdserverpb.CompactionRequest>, o: EtcdCallOptions = {}): Promise<CompactionResponse> {
    const r = full(etcdserverpb.CompactionRequest.fromPartial, req);
    return this.call('write', o, (s, d) => unary((q, md, op, cb) => s.etcd.compact(q, md, op, cb), r, d));
  }

  private call<T>(safety: Safety, o: EtcdCallOptions, attempt: Parameters<typeof withRetries<T>>[4]): Promise<T> {
    return withRetries(
      this.eps,
      safety,
      Date.now() + (o.timeoutMs ?? this.timeoutMs),
      policyFor(this.policy, o),
      attempt,
      o.onFailedAttempt,
    );
  }
}
