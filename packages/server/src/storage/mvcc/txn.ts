// Txn as etcd's applierV3backend.Txn: every compare, nested ones included, is decided first on the state
// before the Txn; then the chosen branches are checked (puts that need a previous pair or a lease, then
// ranges' revisions) and only then applied, all at one revision.
import type { etcdserverpb } from '@raftkv/proto';
import { applyCompare } from './compare.js';
import { CompactedError, FutureRevisionError, keyNotFound, LeaseNotFoundError, type ByteBudget } from './errors.js';
import { range } from './range.js';
import type { KvReader } from './reader.js';
import { applyDeleteRange, applyPut } from './writes.js';
import type { WriteTxn } from './write-txn.js';

/** The branch a (nested) Txn takes, decided before anything is written. */
interface Plan {
  readonly succeeded: boolean;
  readonly ops: readonly etcdserverpb.RequestOp[];
  /** The plan of each nested Txn op, by its index in `ops`. */
  readonly nested: ReadonlyMap<number, Plan>;
}

export function plan(reader: KvReader, rev: number, t: etcdserverpb.TxnRequest): Plan {
  const succeeded = t.compare.every((c) => applyCompare(reader, rev, c));
  const ops = succeeded ? t.success : t.failure;
  const nested = new Map<number, Plan>();
  ops.forEach((op, i) => {
    if (op.request?.$case === 'requestTxn') nested.set(i, plan(reader, rev, op.request.requestTxn));
  });
  return { succeeded, ops, nested };
}

function* chosenOps(p: Plan): Generator<etcdserverpb.RequestOp> {
  for (const [i, op] of p.ops.entries()) {
    const n = p.nested.get(i);
    if (n === undefined) yield op;
    else yield* chosenOps(n);
  }
}

/** etcd's isTxnReadonly: only the top level's direct ops are looked at (a nested Txn counts as a write). */
export function isReadOnly(t: etcdserverpb.TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => op.request?.$case === 'requestRange');
}

export interface TxnContext {
  readonly reader: KvReader;
  readonly current: number;
  readonly compacted: number;
  readonly leaseExists: (id: number) => boolean;
  /** Bounds the ranges of a read-only Txn served by one node (never set on the apply path). */
  readonly budget?: ByteBudget | undefined;
}

/** The apply-time checks of the chosen branches; throws etcd's error before anything is written. */
export function checkPlan(ctx: TxnContext, p: Plan, write: boolean): void {
  if (write) {
    for (const op of chosenOps(p)) {
      if (op.request?.$case !== 'requestPut') continue;
      const put = op.request.requestPut;
      if ((put.ignoreValue || put.ignoreLease) && ctx.reader.live(put.key, ctx.current) === undefined) throw keyNotFound();
      if (put.lease !== 0 && !ctx.leaseExists(put.lease)) throw new LeaseNotFoundError();
    }
  }
  for (const op of chosenOps(p)) {
    if (op.request?.$case !== 'requestRange') continue;
    const rev = op.request.requestRange.revision;
    if (rev === 0) continue;
    if (rev > ctx.current) throw new FutureRevisionError();
    if (rev < ctx.compacted) throw new CompactedError();
  }
}

/** Applies a checked plan inside `w`; the headers inside carry the revisions etcd's do. */
export function applyPlan(w: WriteTxn, ctx: TxnContext, p: Plan): etcdserverpb.TxnResponse {
  const responses = p.ops.map((op, i): etcdserverpb.ResponseOp => {
    const u = op.request;
    switch (u?.$case) {
      case 'requestRange':
        return {
          response: { $case: 'responseRange', responseRange: range(ctx.reader, u.requestRange, w.readRev(), ctx.compacted, ctx.budget) },
        };
      case 'requestPut':
        return { response: { $case: 'responsePut', responsePut: applyPut(w, ctx.reader, u.requestPut) } };
      case 'requestDeleteRange':
        return { response: { $case: 'responseDeleteRange', responseDeleteRange: applyDeleteRange(w, ctx.reader, u.requestDeleteRange) } };
      case 'requestTxn':
        return { response: { $case: 'responseTxn', responseTxn: applyPlan(w, ctx, p.nested.get(i)!) } };
      default:
        return { response: undefined };
    }
  });
  // A nested Txn's header is left at revision 0, as etcd leaves it.
  return { header: { clusterId: 0, memberId: 0, revision: 0, raftTerm: 0 }, succeeded: p.succeeded, responses };
}
