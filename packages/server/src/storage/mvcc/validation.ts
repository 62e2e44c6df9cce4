// The checks etcd's gRPC layer makes before a request reaches the log (v3rpc/key.go, 3.4). They depend on
// the request alone, so a node can reject before proposing, and the apply path can repeat them safely.
import type { etcdserverpb } from '@raftkv/proto';
import { emptyKey, keyNotFound, leaseProvided, tooManyOps, valueProvided } from './errors.js';
import { checkIntervals } from './intervals.js';

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;

export function validateRange(r: etcdserverpb.RangeRequest): void {
  if (r.key.length === 0) throw emptyKey();
}

export function validatePut(r: etcdserverpb.PutRequest): void {
  if (r.key.length === 0) throw emptyKey();
  if (r.ignoreValue && r.value.length !== 0) throw valueProvided();
  if (r.ignoreLease && r.lease !== 0) throw leaseProvided();
}

export function validateDeleteRange(r: etcdserverpb.DeleteRangeRequest): void {
  if (r.key.length === 0) throw emptyKey();
}

export function validateTxn(r: etcdserverpb.TxnRequest, maxOps = MAX_TXN_OPS): void {
  checkTxn(r, maxOps);
  // after the request checks, to avoid a quadratic blowup on a huge request (as etcd)
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxn(r: etcdserverpb.TxnRequest, maxOps: number): void {
  const opc = Math.max(r.compare.length, r.success.length, r.failure.length);
  if (opc > maxOps) throw tooManyOps();
  for (const c of r.compare) if (c.key.length === 0) throw emptyKey();
  for (const op of [...r.success, ...r.failure]) checkOp(op, maxOps - opc);
}

function checkOp(op: etcdserverpb.RequestOp, maxOps: number): void {
  const u = op.request;
  switch (u?.$case) {
    case 'requestRange':
      return validateRange(u.requestRange);
    case 'requestPut':
      return validatePut(u.requestPut);
    case 'requestDeleteRange':
      return validateDeleteRange(u.requestDeleteRange);
    case 'requestTxn':
      return checkTxn(u.requestTxn, maxOps);
    default:
      throw keyNotFound(); // an empty op, as etcd answers it
  }
}
