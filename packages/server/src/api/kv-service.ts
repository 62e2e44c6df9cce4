// raftkv.v1.KV on every node: validation, then the leader router (Propose, linearizable Read) or the
// local state machine (stale Read).
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import {
  ReadConsistency,
  type ProposeRequest,
  type KVServer,
  type ProposeResponse,
  type ReadRequest,
  type ReadResponse,
} from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { InvalidArgumentError } from '../errors.js';
import { answer, deadlineOf } from './call.js';
import { isForwarded, type LeaderRouter } from './router.js';
import type { RequestObserver } from '../observability/node-observability.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { validateKey, validatePropose } from '../storage/validation.js';
import { proposeCommand } from '../storage/command.js';
import type { AuthGate } from './auth-gate.js';
import { checkRead, checkWrite } from '../storage/auth/authorize.js';

const EMPTY = Buffer.alloc(0);

/**
 * With auth enabled (`gate`), raftkv.v1 obeys etcd's permissions on the key: a read needs READ, a write
 * READ and WRITE (it answers the previous value); checked here and, for writes, again when applied.
 */
export function kvService(driver: RaftDriver, sm: KvStateMachine, router: LeaderRouter, obs?: RequestObserver, gate?: AuthGate): KVServer {
  const readLocal = (key: string): ReadResponse => {
    const v = sm.get(key);
    return { found: v !== undefined, value: v ?? EMPTY, index: sm.appliedIndex(), leaderId: driver.leaderId };
  };
  return {
    propose(call: ServerUnaryCall<ProposeRequest, ProposeResponse>, cb: sendUnaryData<ProposeResponse>) {
      const run = async (): Promise<ProposeResponse> => {
        const req = call.request;
        validatePropose(req);
        const user = gate?.user(call) ?? '';
        const c = req.command!;
        const key = Buffer.from(c.$case === 'put' ? c.put.key : c.$case === 'delete' ? c.delete.key : c.compareAndSwap.key, 'utf8');
        checkRead(sm.auth, user, key);
        checkWrite(sm.auth, user, key);
        return router.propose(req, proposeCommand(req, user), deadlineOf(call), isForwarded(call), gate?.forwardToken(call) ?? null);
      };
      answer(run(), cb, obs && ((ok, s) => obs.proposeDone(ok ? 'ok' : 'failed', s)));
    },
    read(call: ServerUnaryCall<ReadRequest, ReadResponse>, cb: sendUnaryData<ReadResponse>) {
      const run = async (): Promise<ReadResponse> => {
        const req = call.request;
        validateKey(req.key);
        checkRead(sm.auth, gate?.user(call) ?? '', Buffer.from(req.key, 'utf8'));
        if (req.consistency === ReadConsistency.READ_CONSISTENCY_STALE) return readLocal(req.key);
        if (req.consistency !== ReadConsistency.READ_CONSISTENCY_LINEARIZABLE) {
          throw new InvalidArgumentError(`unknown consistency ${String(req.consistency)}`);
        }
        const local = () =>
          new Promise<ReadResponse>((resolve, reject) => {
            driver.readIndex((err) => (err ? reject(err) : resolve(readLocal(req.key))));
          });
        return router.readLinearizable(req, deadlineOf(call), isForwarded(call), local, gate?.forwardToken(call) ?? null);
      };
      const consistency = call.request.consistency === ReadConsistency.READ_CONSISTENCY_STALE ? 'stale' : 'linearizable';
      answer(run(), cb, obs && ((_ok, s) => obs.readDone(consistency, s)));
    },
  };
}
