// etcdserverpb.KV (etcd 3.4's v3 API) on every node, on the same MVCC store as raftkv.v1. Writes (Put,
// DeleteRange, a Txn that writes, Compact) go through the leader router and the log and are answered
// by the state machine at apply time; Range and a read-only Txn are served from the local store:
// `serializable` at once, otherwise after a ReadIndex round on the leader (linearizable), as etcd.
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { encodeCommand, responseOf, type KvKind, type KvRequest } from '../storage/command.js';
import type { HeaderIds } from '../storage/member-id.js';
import { requestTooLarge } from '../storage/mvcc/errors.js';
import { isReadOnly } from '../storage/mvcc/txn.js';
import { costPut, costTxn } from '../storage/quota.js';
import type { QuotaAlarmer } from './quota-alarmer.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from '../storage/mvcc/validation.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { answer, deadlineOf } from './call.js';
import { toEtcdStatus } from './grpc-errors.js';
import { afterReadIndex, headerFiller, withTimeout, type WithHeader } from './etcd-call.js';
import { answerBy, isForwarded, type EtcdCall, type LeaderRouter } from './router.js';
import type { AuthGate } from './auth-gate.js';
import { checkAdmin, checkDeleteRange, checkPut, checkRead, checkTxn } from '../storage/auth/authorize.js';

export interface EtcdKvDeps {
  readonly driver: RaftDriver;
  readonly sm: KvStateMachine;
  readonly router: LeaderRouter;
  readonly ids: HeaderIds;
  /** etcd's --max-request-bytes: a write whose log entry would be larger is refused. */
  readonly maxRequestBytes: number;
  /** A Range (or read-only Txn) answer larger than this fails with RESOURCE_EXHAUSTED. */
  readonly maxRangeBytes: number;
  /** Who calls (etcd's auth); reads are checked here, writes again when applied. */
  readonly gate: AuthGate;
  /** The storage quota, checked on the leader before a write that grows the store (none: unchecked). */
  readonly quota?: QuotaAlarmer | undefined;
}

/** What a handler reads from its call: the deadline, and whether another node forwarded it. */
type Call = Parameters<typeof deadlineOf>[0] & Parameters<typeof isForwarded>[0] & Parameters<AuthGate['user']>[0];

type Request<K extends KvKind> = KvRequest<K>;

export function etcdKvService(d: EtcdKvDeps): etcdserverpb.KVServer {
  const { driver, sm, router, gate } = d;
  const auth = sm.auth;
  const filled = headerFiller(driver, sm, d.ids);
  const readIndexed = <T>(read: () => T): Promise<T> => afterReadIndex(driver, read);

  /**
   * `allowed` checks the caller's user against the auth state of the node that reads, once that state is
   * current: at once for a serializable read, after the ReadIndex round (on the leader) otherwise.
   */
  const read = <T extends WithHeader>(
    call: Call,
    serializable: boolean,
    allowed: (user: string) => void,
    local: () => T,
    remote: EtcdCall<T>,
  ): Promise<T> => {
    const user = gate.user(call);
    const checked = (): T => {
      allowed(user);
      return local();
    };
    if (serializable) return Promise.resolve(checked());
    return router.etcdRead(deadlineOf(call), isForwarded(call), () => readIndexed(checked), remote, gate.forwardToken(call));
  };

  /** Proposes `request` on the leader and waits for its answer, at most until shortly before the deadline. */
  const write = <K extends KvKind>(
    call: Call,
    request: Request<K>,
    allowed: (user: string) => void,
    remote: EtcdCall<ReturnType<typeof responseOf<K>>>,
    cost = 0,
  ): Promise<ReturnType<typeof responseOf<K>>> => {
    const user = gate.user(call);
    const data = encodeCommand(request, user);
    if (data.length > d.maxRequestBytes) return Promise.reject(requestTooLarge());
    const deadline = deadlineOf(call);
    // The leader refuses early by its auth state (which holds every acknowledged change); applying checks
    // again with the state of that moment. Then the storage quota.
    const local = async () => {
      allowed(user);
      d.quota?.check(cost);
      return responseOf(await withTimeout(driver.propose(data), answerBy(deadline), driver.leaderId), request.$case);
    };
    return router.etcdWrite(deadline, isForwarded(call), local, remote, gate.forwardToken(call));
  };

  const respond = <T extends WithHeader>(p: Promise<T>, cb: sendUnaryData<T>): void => answer(p.then(filled), cb, undefined, toEtcdStatus);
  const run = <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return f();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  };

  return {
    range(call: ServerUnaryCall<etcdserverpb.RangeRequest, etcdserverpb.RangeResponse>, cb: sendUnaryData<etcdserverpb.RangeResponse>) {
      const r = call.request;
      const p = run(() => {
        validateRange(r);
        return read(
          call,
          r.serializable,
          (user) => checkRead(auth, user, r.key, r.rangeEnd),
          () => sm.store.range(r, d.maxRangeBytes),
          (kv, md, o, c) => kv.range(r, md, o, c),
        );
      });
      respond(p, cb);
    },
    put(call: ServerUnaryCall<etcdserverpb.PutRequest, etcdserverpb.PutResponse>, cb: sendUnaryData<etcdserverpb.PutResponse>) {
      const r = call.request;
      const p = run(() => {
        validatePut(r);
        return write(
          call,
          { $case: 'put', put: r },
          (u) => checkPut(auth, u, r),
          (kv, md, o, c) => kv.put(r, md, o, c),
          costPut(r),
        );
      });
      respond(p, cb);
    },
    deleteRange(
      call: ServerUnaryCall<etcdserverpb.DeleteRangeRequest, etcdserverpb.DeleteRangeResponse>,
      cb: sendUnaryData<etcdserverpb.DeleteRangeResponse>,
    ) {
      const r = call.request;
      const p = run(() => {
        validateDeleteRange(r);
        return write(
          call,
          { $case: 'deleteRange', deleteRange: r },
          (u) => checkDeleteRange(auth, u, r),
          (kv, md, o, c) => kv.deleteRange(r, md, o, c),
        );
      });
      respond(p, cb);
    },
    txn(call: ServerUnaryCall<etcdserverpb.TxnRequest, etcdserverpb.TxnResponse>, cb: sendUnaryData<etcdserverpb.TxnResponse>) {
      const r = call.request;
      const p = run(() => {
        validateTxn(r);
        const remote: EtcdCall<etcdserverpb.TxnResponse> = (kv, md, o, c) => kv.txn(r, md, o, c);
        // A Txn of ranges only is a read, as in etcd: served like a Range, never proposed.
        const allowed = (u: string) => checkTxn(auth, u, r);
        if (isReadOnly(r)) return read(call, txnSerializable(r), allowed, () => sm.store.txn(r, d.maxRangeBytes), remote);
        return write(call, { $case: 'txn', txn: r }, allowed, remote, costTxn(r));
      });
      respond(p, cb);
    },
    compact(
      call: ServerUnaryCall<etcdserverpb.CompactionRequest, etcdserverpb.CompactionResponse>,
      cb: sendUnaryData<etcdserverpb.CompactionResponse>,
    ) {
      const r = call.request;
      respond(
        run(() =>
          write(
            call,
            { $case: 'compaction', compaction: r },
            (u) => checkAdmin(auth, u),
            (kv, md, o, c) => kv.compact(r, md, o, c),
          ),
        ),
        cb,
      );
    },
  };
}

/** etcd's isTxnSerializable: every range of the Txn asks for a serializable read. */
function txnSerializable(t: etcdserverpb.TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => op.request?.$case === 'requestRange' && op.request.requestRange.serializable);
}
