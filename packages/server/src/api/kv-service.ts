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
import { checkRead } from '../storage/auth/authorize.js';
import { costPut } from '../storage/quota.js';
import type { QuotaAlarmer } from './quota-alarmer.js';

const EMPTY = Buffer.alloc(0);

/** A raftkv.v1 command's cost against the storage quota, as etcd's Put (a delete costs nothing). */
function proposeCost(req: ProposeRequest): number {
  const c = req.command;
  if (c?.$case === 'put') return costPut({ key: Buffer.from(c.put.key, 'utf8'), value: c.put.value });
  if (c?.$case === 'compareAndSwap') return costPut({ key: Buffer.from(c.compareAndSwap.key, 'utf8'), value: c.compareAndSwap.newValue });
  return 0;
}

/**
 * With auth enabled (`gate`), raftkv.v1 obeys etcd's permissions on the key: a read needs READ, a write
 * READ and WRITE (it answers the previous value). Reads are checked where they are served, writes when applied.
 * `quota` (when given) is checked on the leader before a Propose that grows the store.
 */
export function kvService(
  driver: RaftDriver,
  sm: KvStateMachine,
  router: LeaderRouter,
  obs?: RequestObserver,
  gate?: AuthGate,
  quota?: QuotaAlarmer,
): KVServer {
  const readLocal = (key: string): ReadResponse => {
    const v = sm.get(key);
    return { found: v !== undefined, value: v ?? EMPTY, index: sm.appliedIndex(), leaderId: driver.leaderId };
  };
  return {
    propose(call: ServerUnaryCall<ProposeRequest, ProposeResponse>, cb: sendUnaryData<ProposeResponse>) {
      const run = async (): Promise<ProposeResponse> => {
        const req = call.request;
        validatePropose(req);
        // Checked when applied (storage/auth/authorize.ts), by the auth state of that moment.
        const user = gate?.user(call) ?? '';
        const admit = quota && (() => quota.check(proposeCost(req)));
        return router.propose(req, proposeCommand(req, user), deadlineOf(call), isForwarded(call), gate?.forwardToken(call) ?? null, admit);
      };
      answer(run(), cb, obs && ((ok, s) => obs.proposeDone(ok ? 'ok' : 'failed', s)));
    },
    read(call: ServerUnaryCall<ReadRequest, ReadResponse>, cb: sendUnaryData<ReadResponse>) {
      const run = async (): Promise<ReadResponse> => {
        const req = call.request;
        validateKey(req.key);
        const user = gate?.user(call) ?? '';
        const allowed = (): void => checkRead(sm.auth, user, Buffer.from(req.key, 'utf8'));
        if (req.consistency === ReadConsistency.READ_CONSISTENCY_STALE) {
          allowed();
          return readLocal(req.key);
        }
        if (req.consistency !== ReadConsistency.READ_CONSISTENCY_LINEARIZABLE) {
          throw new InvalidArgumentError(`unknown consistency ${String(req.consistency)}`);
        }
        const local = () =>
          new Promise<ReadResponse>((resolve, reject) => {
            driver.readIndex((err) => {
              if (err) return reject(err);
              try {
                allowed(); // after the ReadIndex round: the auth state is current
                resolve(readLocal(req.key));
              } catch (e) {
                reject(e as Error);
              }
            });
          });
        return router.readLinearizable(req, deadlineOf(call), isForwarded(call), local, gate?.forwardToken(call) ?? null);
      };
      const consistency = call.request.consistency === ReadConsistency.READ_CONSISTENCY_STALE ? 'stale' : 'linearizable';
      answer(run(), cb, obs && ((_ok, s) => obs.readDone(consistency, s)));
    },
  };
}
