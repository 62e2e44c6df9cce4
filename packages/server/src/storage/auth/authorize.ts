// Who may do what, as etcd 3.4 decides it (auth/store.go isOpPermitted, IsAdminPermitted;
// etcdserver/apply_auth.go). The same checks guard reads at the node that serves them and writes when
// their entry is applied (the user travels in the command), against the auth state of that moment.
import type { Command, etcdserverpb } from '@raftkv/proto';
import type { AuthStore } from './auth-store.js';
import * as E from './errors.js';

const NONE = Buffer.alloc(0);

/** etcd's isOpPermitted: with auth enabled, a known user whose roles cover the range (root: all). */
function allowed(a: AuthStore, user: string, check: (p: NonNullable<ReturnType<AuthStore['rangePermissions']>>) => boolean): void {
  if (!a.enabled) return;
  if (user === '') throw E.userEmpty();
  const perms = a.rangePermissions(user);
  if (perms === undefined) throw E.permissionDenied();
  if (a.isRoot(user)) return;
  if (!check(perms)) throw E.permissionDenied();
}

export const checkRead = (a: AuthStore, user: string, key: Uint8Array, rangeEnd: Uint8Array = NONE): void =>
  allowed(a, user, (p) => p.canRead(key, rangeEnd));

export const checkWrite = (a: AuthStore, user: string, key: Uint8Array, rangeEnd: Uint8Array = NONE): void =>
  allowed(a, user, (p) => p.canWrite(key, rangeEnd));

/** etcd's IsAdminPermitted: with auth enabled, the user must hold the root role. */
export function checkAdmin(a: AuthStore, user: string): void {
  if (!a.enabled) return;
  if (user === '') throw E.userEmpty();
  const u = a.user(user);
  if (u === undefined) throw E.userNotFound();
  if (!a.isRoot(user)) throw E.permissionDenied();
}

/** The keys now attached to a lease (none for no such lease): what revoking it would delete. */
export type LeaseKeys = (lease: number) => readonly Uint8Array[];

const NO_LEASE_KEYS: LeaseKeys = () => [];

/**
 * etcd's checkLeasePuts: WRITE on every key the lease holds. Revoking a lease deletes them, and
 * attaching a key to it would let its revoker delete that key too.
 */
export function checkLeasePuts(a: AuthStore, user: string, lease: number, leaseKeys: LeaseKeys): void {
  if (!a.enabled || lease === 0) return;
  for (const key of leaseKeys(lease)) checkWrite(a, user, key);
}

export function checkPut(a: AuthStore, user: string, r: etcdserverpb.PutRequest, leaseKeys: LeaseKeys = NO_LEASE_KEYS): void {
  checkWrite(a, user, r.key);
  checkLeasePuts(a, user, r.lease, leaseKeys);
  if (r.prevKv) checkRead(a, user, r.key);
}

export function checkDeleteRange(a: AuthStore, user: string, r: etcdserverpb.DeleteRangeRequest): void {
  if (r.prevKv) checkRead(a, user, r.key, r.rangeEnd);
  checkWrite(a, user, r.key, r.rangeEnd);
}

/**
 * Every compare (read), then every op of both branches, nested Txns included (etcd 3.4 skips those), and a
 * put's lease as for Put (etcd 3.4 checks it on Put only; a Txn must not be the way around it).
 */
export function checkTxn(a: AuthStore, user: string, t: etcdserverpb.TxnRequest, leaseKeys: LeaseKeys = NO_LEASE_KEYS): void {
  if (!a.enabled) return;
  for (const c of t.compare) checkRead(a, user, c.key, c.rangeEnd);
  for (const op of [...t.success, ...t.failure]) {
    const r = op.request;
    switch (r?.$case) {
      case 'requestRange':
        checkRead(a, user, r.requestRange.key, r.requestRange.rangeEnd);
        break;
      case 'requestPut':
        checkPut(a, user, r.requestPut, leaseKeys);
        break;
      case 'requestDeleteRange':
        checkDeleteRange(a, user, r.requestDeleteRange);
        break;
      case 'requestTxn':
        checkTxn(a, user, r.requestTxn, leaseKeys);
        break;
      default:
        break;
    }
  }
}

/**
 * The check a committed command must pass before it is applied, by its kind. raftkv.v1 writes answer
 * the previous value, so they need READ as well as WRITE on the key; compaction and auth management
 * need root (etcd 3.4 lets any user compact; raftkv treats it as maintenance). As etcd 3.4: any caller
 * may grant a lease; revoking one needs WRITE on its keys (the lessor's expiry revokes as root); member
 * changes are checked where they are asked for (etcd's checkMembershipOperationPermission), and a
 * member's published attributes, alarms and the cluster version are the nodes' own.
 */
export function authorizeCommand(a: AuthStore, cmd: Command, leaseKeys: LeaseKeys = NO_LEASE_KEYS): void {
  if (!a.enabled) return;
  const user = cmd.authUser;
  const r = cmd.request;
  switch (r?.$case) {
    case undefined:
      return;
    case 'propose': {
      const c = r.propose.command;
      const key = c === undefined ? '' : c.$case === 'put' ? c.put.key : c.$case === 'delete' ? c.delete.key : c.compareAndSwap.key;
      const k = Buffer.from(key, 'utf8');
      checkRead(a, user, k);
      checkWrite(a, user, k);
      return;
    }
    case 'put':
      return checkPut(a, user, r.put, leaseKeys);
    case 'deleteRange':
      return checkDeleteRange(a, user, r.deleteRange);
    case 'txn':
      return checkTxn(a, user, r.txn, leaseKeys);
    // Any caller may grant; the members' attributes, alarms (etcd 3.4 checks none) and the cluster
    // version (the leader's own decision) are the nodes' own commands.
    case 'leaseGrant':
    case 'memberAttributes':
    case 'memberPeerUpdate':
    case 'alarm':
    case 'clusterVersionSet':
      return;
    case 'leaseRevoke':
      return checkLeasePuts(a, user, r.leaseRevoke.ID, leaseKeys);
    default:
      return checkAdmin(a, user);
  }
}
