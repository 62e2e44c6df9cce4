// The lock workload on etcd's API: clients take etcd's lease-backed lock (clientv3/concurrency's
// Mutex: a key `lock/<lease>` created under the lease, the lowest create_revision holds, a waiter
// watches its predecessor's delete), then append fencing tokens (the key's create_revision) to one log
// key through a Txn comparing that create_revision. Holders also fail as clients do: some crash
// (abandon the lease without revoking or deleting: expiry frees the lock), some freeze past their TTL
// and then write anyway (the compare must refuse them once the key is gone). Checked by checker/lock.ts.
import { etcdserverpb } from '@raftkv/proto';
import { sleep } from '@raftkv/testkit';
import { entryOf, type LockWrite } from '../checker/lock.js';
import type { WatchEvent } from '../checker/watch.js';
import type { Cluster } from './cluster.js';
import * as etcd from './etcd-ops.js';
import { LockSession } from './lock-session.js';
import { Attempts, certainlyNotApplied, describeError } from './outcome.js';
import type { Random } from './random.js';
import { pickNode, topErrors } from './targets.js';
import { toEvent } from './watchers.js';

export const LOCK_PREFIX = 'lock/';
export const LOCK_LOG = 'locklog';
const REFUSED = 'the lock key is gone (compare failed)';

export interface LockOptions {
  readonly clients: number;
  readonly opTimeoutMs: number;
  readonly thinkMs: number;
  /** The lease TTL in seconds. */
  readonly lockTtlS: number;
  /** Self-test: appends without the fencing compare, and every holder freezes past its TTL (must FAIL). */
  readonly unfenced?: boolean;
}

export interface LockCounts {
  acquired: number;
  released: number;
  crashed: number;
  frozen: number;
  /** Frozen holders' writes after their TTL: refused (the key was gone) or accepted (the lease had not expired yet). */
  zombieRefused: number;
  zombieAccepted: number;
  waitedByWatch: number;
  lostLock: number;
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const { RangeRequest_SortOrder: Order, RangeRequest_SortTarget: Target } = etcdserverpb;

export class LockWorkload {
  readonly writes: LockWrite[] = [];
  readonly counts: LockCounts = {
    acquired: 0,
    released: 0,
    crashed: 0,
    frozen: 0,
    zombieRefused: 0,
    zombieAccepted: 0,
    waitedByWatch: 0,
    lostLock: 0,
  };
  private readonly errors: { label: string; outcome: string; error?: string }[] = [];
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly prefixEnd = bytes('lock0');

  constructor(
    private readonly cluster: Cluster,
    private readonly rand: Random,
    private readonly clock: () => number,
    private readonly o: LockOptions,
  ) {}

  start(): void {
    for (let c = 0; c < this.o.clients; c++) this.loops.push(this.client(c, this.rand.fork(5000 + c)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  errorCounts(top = 8): [string, number][] {
    return topErrors(this.errors, top);
  }

  opCounts(): { total: number; ok: number; fail: number; info: number } {
    const c = { total: this.writes.length, ok: 0, fail: 0, info: 0 };
    for (const w of this.writes) c[w.outcome]++;
    return c;
  }

  private note(label: string, e: unknown): void {
    this.errors.push({ label, outcome: 'error', error: describeError(e) });
  }

  private async client(c: number, r: Random): Promise<void> {
    let seq = 0;
    while (!this.stopping) {
      const session = await this.grant(r);
      if (session === undefined) {
        await sleep(r.int(100, 300));
        continue;
      }
      let abandoned = false;
      try {
        const key = `${LOCK_PREFIX}${session.id.toString(16)}`;
        const token = await this.acquire(session, key, r);
        if (token === undefined) continue; // the lease lapses or is revoked below; its key goes with it
        this.counts.acquired++;
        const fate = this.o.unfenced === true ? 0.15 : r.next();
        if (fate < 0.1) {
          // A crash while holding: no unlock, no revoke.
          this.counts.crashed++;
          session.abandon();
          abandoned = true;
          continue;
        }
        const frozen = fate < 0.2;
        for (let n = r.int(1, 3); n > 0 && !this.stopping; n--) {
          if (frozen && n === 1) {
            // Frozen past the TTL (renewals stop), then writes as if it still held the lock.
            this.counts.frozen++;
            session.abandon();
            abandoned = true;
            await sleep(r.int(this.o.lockTtlS * 1500, this.o.lockTtlS * 3000));
          }
          const w = await this.append(c, key, token, seq++, abandoned);
          const refused = w.outcome === 'fail' && w.error === REFUSED;
          if (abandoned) {
            if (w.outcome === 'ok') this.counts.zombieAccepted++;
            else if (refused) this.counts.zombieRefused++;
          }
          if (refused) {
            this.counts.lostLock++;
            break;
          }
          if (this.o.thinkMs > 0) await sleep(r.int(0, this.o.thinkMs));
        }
        if (!abandoned && (await this.release(key, r))) this.counts.released++;
      } finally {
        if (!abandoned) {
          session.abandon();
          // Revoke most of the time; otherwise let it expire (its key, if any, goes with it).
          if (r.next() < 0.8) await this.revoke(session.id, r);
        }
      }
    }
  }

  private async grant(r: Random): Promise<LockSession | undefined> {
    try {
      const res = await this.cluster.clients[pickNode(this.cluster, r)]!.lease.grant(
        { TTL: this.o.lockTtlS },
        { timeoutMs: this.o.opTimeoutMs },
      );
      return new LockSession(this.cluster, r.fork(1), this.clock, res.ID, res.TTL);
    } catch (e) {
      this.note('grant', e);
      return undefined;
    }
  }

  private async revoke(id: number, r: Random): Promise<void> {
    try {
      await this.cluster.clients[pickNode(this.cluster, r)]!.lease.revoke(id, { timeoutMs: this.o.opTimeoutMs });
    } catch (e) {
      this.note('revoke', e);
    }
  }

  private async release(key: string, r: Random): Promise<boolean> {
    try {
      await this.cluster.clients[pickNode(this.cluster, r)]!.etcd.deleteRange({ key: bytes(key) }, { timeoutMs: this.o.opTimeoutMs });
      return true;
    } catch (e) {
      this.note('unlock', e);
      return false;
    }
  }

  /**
   * etcd's Mutex.Lock: create the key under the lease unless it exists, then wait until no key under
   * the prefix has a lower create_revision. Returns the key's create_revision, or undefined on giving up.
   */
  private async acquire(session: LockSession, key: string, r: Random): Promise<number | undefined> {
    const k = bytes(key);
    const owner = etcd.rangeOp(bytes(LOCK_PREFIX), this.prefixEnd);
    if (owner.request?.$case === 'requestRange')
      Object.assign(owner.request.requestRange, { sortOrder: Order.ASCEND, sortTarget: Target.CREATE, limit: 1 });
    const req: etcdserverpb.TxnRequest = {
      compare: [etcd.createRevisionIs(k, 0)],
      success: [
        etcdserverpb.RequestOp.fromPartial({
          request: { $case: 'requestPut', requestPut: { key: k, value: Buffer.alloc(0), lease: session.id } },
        }),
        owner,
      ],
      failure: [etcd.rangeOp(k), owner],
    };
    let myRev: number | undefined;
    let ownerRev: number | undefined;
    // The Txn is safe to repeat: a second one finds the key and reads it.
    for (let attempt = 0; myRev === undefined; attempt++) {
      if (this.stopping || session.expired || attempt >= 5) return undefined;
      try {
        const res = await this.cluster.clients[pickNode(this.cluster, r)]!.etcd.txn(req, { timeoutMs: this.o.opTimeoutMs });
        const mine = res.succeeded ? Number(res.header?.revision ?? 0n) : etcd.rangeResult(res, 0)?.[0]?.createRevision;
        if (mine === undefined) return undefined; // the key is gone: the lease expired meanwhile
        myRev = mine;
        ownerRev = etcd.rangeResult(res, 1)?.[0]?.createRevision;
      } catch (e) {
        this.note('lock', e);
        await sleep(r.int(50, 200));
      }
    }
    if (ownerRev === undefined || ownerRev === myRev) return myRev;
    return (await this.waitDeletes(session, myRev, r)) ? myRev : undefined;
  }

  /** Until no key under the prefix was created before `myRev`: watch the latest such key's delete. */
  private async waitDeletes(session: LockSession, myRev: number, r: Random): Promise<boolean> {
    while (!this.stopping && !session.expired && this.clock() - session.renewedAt < session.ttlS * 1000) {
      const node = pickNode(this.cluster, r);
      try {
        const res = await this.cluster.clients[node]!.etcd.range(
          {
            key: bytes(LOCK_PREFIX),
            rangeEnd: this.prefixEnd,
            sortOrder: Order.DESCEND,
            sortTarget: Target.CREATE,
            limit: 1,
            maxCreateRevision: myRev - 1,
          },
          { timeoutMs: this.o.opTimeoutMs },
        );
        const last = res.kvs[0];
        if (last === undefined) return true;
        this.counts.waitedByWatch++;
        await this.waitDelete(node, last.key, Number(res.header?.revision ?? 0n), r.int(1000, 3000));
      } catch (e) {
        this.note('wait', e);
        await sleep(r.int(50, 200));
      }
    }
    return false;
  }

  /** Watches `key` from `rev` until it is deleted, the stream fails, or `timeoutMs` passes (then the caller reads again). */
  private waitDelete(node: number, key: Buffer, rev: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const s = this.cluster.clients[node]!.etcdWatch(this.cluster.address(node));
      const done = (): void => {
        clearTimeout(timer);
        s.cancel();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      s.on('data', (res: etcdserverpb.WatchResponse) => {
        if (res.canceled || res.events.map(toEvent).some((e: WatchEvent) => e.type === 'delete')) done();
      });
      s.on('error', done);
      s.on('end', done);
      s.write(
        etcdserverpb.WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', createRequest: { key, startRevision: rev } } }),
      );
    });
  }

  /** Appends this holder's fencing token to the log, if its lock key still has that create_revision. */
  private async append(client: number, key: string, token: number, seq: number, zombie: boolean): Promise<LockWrite> {
    const entry = entryOf(token, client, seq);
    const base = { client, lockKey: key, token, entry, zombie };
    let w: LockWrite;
    // The client sends the Txn again only when refused as not applied; every attempt counts for the outcome.
    const tries = new Attempts();
    try {
      const res = await this.cluster.clients[pickNode(this.cluster, this.rand)]!.etcd.txn(
        {
          compare: this.o.unfenced === true ? [] : [etcd.createRevisionIs(bytes(key), token)],
          success: [etcd.putOp(bytes(LOCK_LOG), bytes(entry))],
          failure: [],
        },
        { timeoutMs: this.o.opTimeoutMs, onFailedAttempt: tries.observer },
      );
      w = res.succeeded
        ? { ...base, outcome: 'ok', revision: Number(res.header?.revision ?? 0n) }
        : { ...base, outcome: 'fail', error: REFUSED };
    } catch (e) {
      w = { ...base, outcome: certainlyNotApplied(e) && !tries.mayHaveHappened ? 'fail' : 'info', error: describeError(e) };
      this.errors.push({ label: 'append', outcome: w.outcome, error: describeError(e) });
    }
    this.writes.push(w);
    return w;
  }
}
