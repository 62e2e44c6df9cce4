// etcdserverpb.Lease (etcd 3.4) on every node. Grant and revoke are proposed through the log (the
// leader, via the router) and answered at apply; the proposer chooses a free id when the client gave
// none (below 2^53, as int64s decode to JS numbers) and applies etcd's minimum TTL rule, so the entry
// carries the decision. TimeToLive and keep-alives need the leader's lessor (node/lessor.ts): a
// follower forwards them (keep-alives over one shared stream, lease-renew-forwarder.ts). LeaseLeases
// is served from this node's own lessor, as etcd does.
import { randomBytes } from 'node:crypto';
import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import type { Lessor } from '../node/lessor.js';
import { NotPrimaryError } from '../node/lessor.js';
import type { RaftDriver } from '../node/driver.js';
import { encodeCommand, responseOf } from '../storage/command.js';
import { LeaseExistsError, LeaseTtlTooLargeError, MAX_LEASE_TTL } from '../storage/lease-errors.js';
import type { HeaderIds } from '../storage/member-id.js';
import { LeaseNotFoundError } from '../storage/mvcc/errors.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { answer, deadlineOf } from './call.js';
import { withTimeout } from './etcd-call.js';
import { ETCD_NO_LEADER, EtcdUnavailableError, toEtcdStatus } from './grpc-errors.js';
import type { LeaseRenewForwarder } from './lease-renew-forwarder.js';
import { answerBy, isForwarded, type LeaderRouter } from './router.js';
import type { AuthGate } from './auth-gate.js';
import { checkLeasePuts } from '../storage/auth/authorize.js';

export interface EtcdLeaseDeps {
  readonly driver: RaftDriver;
  readonly sm: KvStateMachine;
  readonly router: LeaderRouter;
  readonly lessor: Lessor;
  readonly forwarder: LeaseRenewForwarder;
  /** Brings the lessor in step with this node's role now (a new leader promotes it before answering). */
  readonly syncLessor: () => void;
  readonly ids: HeaderIds;
  /** etcd's minimum TTL (seconds): a grant asking for less gets this. */
  readonly minTtl: number;
  /**
   * Who calls (etcd 3.4's rules): any caller may grant; a revoke needs WRITE on the lease's keys, checked
   * when applied (and early on the leader); TimeToLive, Leases and keep-alives are not checked.
   */
  readonly gate: AuthGate;
}

interface WithHeader {
  header?: etcdserverpb.ResponseHeader | undefined;
}

/** A fresh lease id in [1, 2^53). */
export function chooseLeaseId(): number {
  for (;;) {
    const id = Number(randomBytes(8).readBigUInt64BE(0) >> 11n);
    if (id !== 0) return id;
  }
}

/** etcd's minimum lease TTL for an election timeout: ceil(1.5 x timeout) seconds, and never below etcd's default (2). */
export function minLeaseTtl(electionTimeoutMs: number): number {
  return Math.ceil(Math.max(1500, 1.5 * electionTimeoutMs) / 1000);
}

/** A server-chosen id that turns out taken is replaced by a new one this many times. */
const ID_ATTEMPTS = 3;

export function etcdLeaseService(d: EtcdLeaseDeps): etcdserverpb.LeaseServer {
  const { driver, sm, router, lessor } = d;
  const fill = (h: etcdserverpb.ResponseHeader | undefined): etcdserverpb.ResponseHeader => ({
    clusterId: d.ids.clusterId,
    memberId: d.ids.memberId,
    raftTerm: driver.view().term,
    revision: h?.revision || sm.store.currentRevision(),
  });
  const filled = <T extends WithHeader>(r: T): T => ({ ...r, header: fill(r.header) });
  const respond = <T extends WithHeader>(p: Promise<T>, cb: sendUnaryData<T>): void => answer(p.then(filled), cb, undefined, toEtcdStatus);

  const propose = async <K extends 'leaseGrant' | 'leaseRevoke'>(
    request: K extends 'leaseGrant'
      ? { $case: 'leaseGrant'; leaseGrant: etcdserverpb.LeaseGrantRequest }
      : { $case: 'leaseRevoke'; leaseRevoke: etcdserverpb.LeaseRevokeRequest },
    deadline: number,
    user: string,
  ) => responseOf(await withTimeout(driver.propose(encodeCommand(request, user)), answerBy(deadline), driver.leaderId), request.$case as K);

  /** The leader's grant: the id (chosen here when the client gave none) and the TTL decided before proposing. */
  const grantHere = async (r: etcdserverpb.LeaseGrantRequest, deadline: number, user: string): Promise<etcdserverpb.LeaseGrantResponse> => {
    if (r.TTL > MAX_LEASE_TTL) throw new LeaseTtlTooLargeError();
    const ttl = Math.max(r.TTL, d.minTtl);
    for (let attempt = 1; ; attempt++) {
      const ID = r.ID !== 0 ? r.ID : chooseLeaseId();
      try {
        return await propose<'leaseGrant'>({ $case: 'leaseGrant', leaseGrant: { ID, TTL: ttl } }, deadline, user);
      } catch (e) {
        if (!(e instanceof LeaseExistsError) || r.ID !== 0 || attempt >= ID_ATTEMPTS) throw e;
      }
    }
  };

  /** The leader's TimeToLive (etcd answers TTL -1 for no such lease, not an error), once it applied what is committed. */
  const timeToLiveHere = async (r: etcdserverpb.LeaseTimeToLiveRequest): Promise<etcdserverpb.LeaseTimeToLiveResponse> => {
    if (behind(driver)) await appliedCommitted(driver);
    d.syncLessor();
    const t = lessor.timeToLive(r.ID);
    if (t === undefined) return { header: undefined, ID: r.ID, TTL: -1, grantedTTL: 0, keys: [] };
    return { header: undefined, ID: r.ID, TTL: t.ttl, grantedTTL: t.grantedTtl, keys: r.keys ? sm.store.keysOfLease(r.ID) : [] };
  };

  return {
    leaseGrant(call: ServerUnaryCall<etcdserverpb.LeaseGrantRequest, etcdserverpb.LeaseGrantResponse>, cb) {
      const r = call.request;
      const deadline = deadlineOf(call);
      const p = run(() => {
        const user = d.gate.user(call);
        return router.etcdLease(
          'write',
          deadline,
          isForwarded(call),
          () => grantHere(r, deadline, user),
          (c, md, o, k) => c.leaseGrant(r, md, o, k),
          d.gate.forwardToken(call),
        );
      });
      respond(p, cb);
    },
    leaseRevoke(call: ServerUnaryCall<etcdserverpb.LeaseRevokeRequest, etcdserverpb.LeaseRevokeResponse>, cb) {
      const r = call.request;
      const deadline = deadlineOf(call);
      const p = run(() => {
        const user = d.gate.user(call);
        // The leader refuses early by its state; applying checks again with the keys of that moment.
        const local = () => {
          checkLeasePuts(sm.auth, user, r.ID, (id) => sm.store.keysOfLease(id));
          return propose<'leaseRevoke'>({ $case: 'leaseRevoke', leaseRevoke: { ID: r.ID } }, deadline, user);
        };
        return router.etcdLease(
          'write',
          deadline,
          isForwarded(call),
          local,
          (c, md, o, k) => c.leaseRevoke(r, md, o, k),
          d.gate.forwardToken(call),
        );
      });
      respond(p, cb);
    },
    leaseTimeToLive(call: ServerUnaryCall<etcdserverpb.LeaseTimeToLiveRequest, etcdserverpb.LeaseTimeToLiveResponse>, cb) {
      const r = call.request;
      const local = async () => {
        try {
          return await timeToLiveHere(r);
        } catch (e) {
          throw e instanceof NotPrimaryError ? new EtcdUnavailableError(ETCD_NO_LEADER, driver.leaderId, true, { cause: e }) : e;
        }
      };
      respond(
        router.etcdLease('read', deadlineOf(call), isForwarded(call), local, (c, md, o, k) => c.leaseTimeToLive(r, md, o, k)),
        cb,
      );
    },
    leaseLeases(_call: ServerUnaryCall<etcdserverpb.LeaseLeasesRequest, etcdserverpb.LeaseLeasesResponse>, cb) {
      d.syncLessor();
      const ids = lessor.isPrimary ? lessor.ids() : sm.leases.list().map((l) => l.id);
      respond(Promise.resolve({ header: undefined, leases: ids.map((ID) => ({ ID })) }), cb);
    },
    leaseKeepAlive(stream: ServerDuplexStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>) {
      keepAlive(stream, d, fill);
    },
  };
}

type Progress = Pick<RaftDriver, 'view' | 'waitForProgress'>;

/** `f`'s promise, or its synchronous throw (an invalid token) as a rejection. */
function run<T>(f: () => Promise<T>): Promise<T> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** This node has committed entries it has not applied yet. */
const behind = (driver: Progress): boolean => driver.view().applied < driver.view().commit;

/** Waits (at most a second) until this node has applied what it had committed when asked. */
async function appliedCommitted(driver: Progress): Promise<void> {
  const target = driver.view().commit;
  const until = Date.now() + 1000;
  while (driver.view().applied < target && Date.now() < until) await driver.waitForProgress(until);
}

/**
 * One keep-alive stream: each request is answered in order with the TTL the leader's lessor renewed
 * the lease for (0: no such lease, as etcd). The header is filled before the renewal (etcd does, so a
 * revision never runs ahead of it). A forwarded stream that lands on a node no longer leading is ended
 * with UNAVAILABLE: the follower that forwarded it sends its renewals to the new leader.
 */
function keepAlive(
  stream: ServerDuplexStream<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse>,
  d: EtcdLeaseDeps,
  fill: (h: undefined) => etcdserverpb.ResponseHeader,
): void {
  const forwarded = isForwarded(stream);
  let tail: Promise<void> = Promise.resolve();
  let done = false;
  const fail = (e: unknown): void => {
    if (done) return;
    done = true;
    stream.emit('error', toEtcdStatus(e));
  };
  const renewHere = (id: number): number => {
    d.syncLessor();
    try {
      return d.lessor.renew(id);
    } catch (e) {
      if (e instanceof LeaseNotFoundError) return 0;
      if (e instanceof NotPrimaryError) throw new EtcdUnavailableError(ETCD_NO_LEADER, d.driver.leaderId, true, { cause: e });
      throw e;
    }
  };
  const renew = (id: number): number | Promise<number> => {
    if (!d.driver.isLeader && !forwarded) return d.forwarder.renew(id);
    const ttl = renewHere(id);
    // Unknown here, but a new leader may not have applied every committed grant yet (etcd's
    // waitAppliedIndex): ask again once it has, before answering "gone".
    return ttl === 0 && behind(d.driver) ? appliedCommitted(d.driver).then(() => renewHere(id)) : ttl;
  };
  stream.on('data', (req: etcdserverpb.LeaseKeepAliveRequest) => {
    const header = fill(undefined);
    // Renewals start at once (forwarded ones are pipelined on the leader stream); answers leave in
    // request order, each after the one before.
    let ttl: Promise<number>;
    try {
      ttl = Promise.resolve(renew(req.ID));
    } catch (e) {
      ttl = Promise.reject(e as Error);
    }
    ttl.catch(() => undefined); // handled in order below
    tail = tail.then(async () => {
      if (done) return;
      try {
        const TTL = await ttl;
        if (!done) stream.write({ header, ID: req.ID, TTL });
      } catch (e) {
        fail(e);
      }
    });
  });
  stream.on('end', () => {
    void tail.then(() => {
      if (done) return;
      done = true;
      stream.end();
    });
  });
  stream.on('error', () => {
    done = true;
  });
  stream.on('cancelled', () => {
    done = true;
  });
}
