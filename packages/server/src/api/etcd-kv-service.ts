// etcdserverpb.KV (etcd 3.4's v3 API) on every node, on the same MVCC store as raftkv.v1. Writes (Put,
// DeleteRange, a Txn that writes, Compact) go through the leader router and the log and are answered
// by the state machine at apply time; Range and a read-only Txn are served from the local store:
// `serializable` at once, otherwise after a ReadIndex round on the leader (linearizable), as etcd.
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Command, etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { encodeCommand, responseOf, type CommandKind } from '../storage/command.js';
import type { HeaderIds } from '../storage/member-id.js';
import { requestTooLarge } from '../storage/mvcc/errors.js';
import { isReadOnly } from '../storage/mvcc/txn.js';
import { costPut, costTxn } from '../storage/quota.js';
import type { QuotaAlarmer } from './quota-alarmer.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from '../storage/mvcc/validation.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { answer, deadlineOf } from './call.js';
import { ETCD_TIMEOUT, EtcdUnavailableError, toEtcdStatus } from './grpc-errors.js';
import { answerBy, isForwarded, type EtcdCall, type LeaderRouter } from './router.js';

export interface EtcdKvDeps {
  readonly driver: RaftDriver;
  readonly sm: KvStateMachine;
  readonly router: LeaderRouter;
  readonly ids: HeaderIds;
  /** etcd's --max-request-bytes: a write whose log entry would be larger is refused. */
  readonly maxRequestBytes: number;
  /** A Range (or read-only Txn) answer larger than this fails with RESOURCE_EXHAUSTED. */
  readonly maxRangeBytes: number;
  /** The storage quota, checked on the leader before a write that grows the store (none: unchecked). */
  readonly quota?: QuotaAlarmer | undefined;
}

interface WithHeader {
  header?: etcdserverpb.ResponseHeader | undefined;
}

/** What a handler reads from its call: the deadline, and whether another node forwarded it. */
type Call = Parameters<typeof deadlineOf>[0] & Parameters<typeof isForwarded>[0];

type Request<K extends CommandKind> = Extract<NonNullable<Command['request']>, { $case: K }>;

export function etcdKvService(d: EtcdKvDeps): etcdserverpb.KVServer {
  const { driver, sm, router } = d;
  // etcd's v3rpc header.fill: this node's ids and term; the revision the answer reflects (the store's
  // current one when the applier left it 0).
  const filled = <T extends WithHeader>(r: T): T => ({
    ...r,
    header: {
      clusterId: d.ids.clusterId,
      memberId: d.ids.memberId,
      raftTerm: driver.view().term,
      revision: r.header?.revision || sm.store.currentRevision(),
    },
  });

  /** Runs `read` once a linearizable read may be served here (ReadIndex on the leader). */
  const afterReadIndex = <T>(read: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      driver.readIndex((err) => {
        if (err) return reject(err);
        try {
          resolve(read());
        } catch (e) {
          reject(e as Error);
        }
      });
    });

  const read = <T extends WithHeader>(call: Call, serializable: boolean, local: () => T, remote: EtcdCall<T>): Promise<T> => {
    if (serializable) return Promise.resolve(local());
    return router.etcdRead(deadlineOf(call), isForwarded(call), () => afterReadIndex(local), remote);
  };

  /** Proposes `request` on the leader and waits for its answer, at most until shortly before the deadline. */
  const write = <K extends CommandKind>(
    call: Call,
    request: Request<K>,
    remote: EtcdCall<ReturnType<typeof responseOf<K>>>,
    cost = 0,
  ): Promise<ReturnType<typeof responseOf<K>>> => {
    const data = encodeCommand(request);
    if (data.length > d.maxRequestBytes) return Promise.reject(requestTooLarge());
    const deadline = deadlineOf(call);
    const local = async () => {
      d.quota?.check(cost);
      return responseOf(await withTimeout(driver.propose(data), answerBy(deadline), driver.leaderId), request.$case);
    };
    return router.etcdWrite(deadline, isForwarded(call), local, remote);
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
        return write(call, { $case: 'put', put: r }, (kv, md, o, c) => kv.put(r, md, o, c), costPut(r));
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
        return write(call, { $case: 'deleteRange', deleteRange: r }, (kv, md, o, c) => kv.deleteRange(r, md, o, c));
      });
      respond(p, cb);
    },
    txn(call: ServerUnaryCall<etcdserverpb.TxnRequest, etcdserverpb.TxnResponse>, cb: sendUnaryData<etcdserverpb.TxnResponse>) {
      const r = call.request;
      const p = run(() => {
        validateTxn(r);
        const remote: EtcdCall<etcdserverpb.TxnResponse> = (kv, md, o, c) => kv.txn(r, md, o, c);
        // A Txn of ranges only is a read, as in etcd: served like a Range, never proposed.
        if (isReadOnly(r)) return read(call, txnSerializable(r), () => sm.store.txn(r, d.maxRangeBytes), remote);
        return write(call, { $case: 'txn', txn: r }, remote, costTxn(r));
      });
      respond(p, cb);
    },
    compact(
      call: ServerUnaryCall<etcdserverpb.CompactionRequest, etcdserverpb.CompactionResponse>,
      cb: sendUnaryData<etcdserverpb.CompactionResponse>,
    ) {
      const r = call.request;
      respond(
        run(() => write(call, { $case: 'compaction', compaction: r }, (kv, md, o, c) => kv.compact(r, md, o, c))),
        cb,
      );
    },
  };
}

/** etcd's isTxnSerializable: every range of the Txn asks for a serializable read. */
function txnSerializable(t: etcdserverpb.TxnRequest): boolean {
  return [...t.success, ...t.failure].every((op) => op.request?.$case === 'requestRange' && op.request.requestRange.serializable);
}

/**
 * The state machine's answer, or etcd's "request timed out" once `byMs` (Date.now() clock) passes: the
 * entry may still be applied later, so the caller must not assume it was not.
 */
function withTimeout<T>(p: Promise<T>, byMs: number, leaderId: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new EtcdUnavailableError(ETCD_TIMEOUT, leaderId, false)), Math.max(0, byMs - Date.now()));
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
