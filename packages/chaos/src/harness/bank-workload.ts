// Jepsen's bank workload on etcd's KV API: accounts are keys under one prefix, their balances written
// once; clients move random amounts between two accounts by a Txn that compares both accounts'
// mod_revision as read (retried with a fresh read when the compare fails), and read all accounts with
// ONE Range over the prefix, alternating linearizable and serializable reads. Every read is recorded
// (time, revision, balances) for the bank checker.
import { prefixEnd } from '@raftkv/client';
import type { etcdserverpb } from '@raftkv/proto';
import { sleep } from '@raftkv/testkit';
import type { Account, BankModel, BankOp, BankRead, BankTransfer } from '../checker/index.js';
import type { Cluster } from './cluster.js';
import * as etcd from './etcd-ops.js';
import type { Random } from './random.js';
import { members, pickNode, topErrors } from './targets.js';
import { Attempts, certainlyNotApplied, describeError } from './outcome.js';

export interface BankOptions {
  readonly clients: number;
  readonly accounts: number;
  /** Each account's balance at the start; the total is accounts × this. */
  readonly initialBalance: number;
  /** Transfers move 1..maxTransfer. */
  readonly maxTransfer: number;
  readonly opTimeoutMs: number;
  readonly thinkMs: number;
  /** Self-test: every read serializable, yet checked as linearizable where it says so (must FAIL under faults). */
  readonly staleReads?: boolean;
}

/** Compare failures before a transfer gives up (each retry starts with a fresh read). */
const MAX_ATTEMPTS = 5;
export const BANK_PREFIX = 'bank/';

const parseBalance = (v: Buffer): number => {
  const s = v.toString('utf8');
  return /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
};

export class BankWorkload {
  readonly history: BankOp[] = [];
  readonly model: BankModel;
  private readonly prefix = Buffer.from(BANK_PREFIX);
  private readonly end = prefixEnd(Buffer.from(BANK_PREFIX));
  private nextId = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly rand: Random,
    private readonly clock: () => number,
    private readonly o: BankOptions,
  ) {
    const accounts = Array.from({ length: o.accounts }, (_, i) => `${BANK_PREFIX}a${i}`);
    this.model = { accounts, total: o.accounts * o.initialBalance };
  }

  /**
   * Writes the initial balances once, atomically: a Txn that creates every account only if none exists
   * (so a retry after an indeterminate attempt cannot write them twice), then reads them back.
   */
  async setup(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    const keys = this.model.accounts.map((a) => Buffer.from(a));
    const req: etcdserverpb.TxnRequest = {
      compare: keys.map((k) => etcd.createRevisionIs(k, 0)),
      success: keys.map((k) => etcd.putOp(k, Buffer.from(String(this.o.initialBalance)))),
      failure: [],
    };
    let last = '';
    while (Date.now() < end) {
      const node = pickNode(this.cluster, this.rand);
      try {
        await this.cluster.clients[node]!.etcd.txn(req, { timeoutMs: this.o.opTimeoutMs });
        const r = await this.read(-1, node, false);
        if (r.outcome === 'ok' && Object.keys(r.accounts ?? {}).length === this.model.accounts.length) return;
        last = r.error ?? `found ${Object.keys(r.accounts ?? {}).length} of ${this.model.accounts.length} accounts`;
      } catch (e) {
        last = describeError(e);
      }
      await sleep(200);
    }
    throw new Error(`could not write the initial balances within ${timeoutMs} ms: ${last}`);
  }

  start(): void {
    for (let c = 0; c < this.o.clients; c++) this.loops.push(this.client(c, this.rand.fork(2000 + c)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  errorCounts(top = 8): [string, number][] {
    return topErrors(
      this.history.map((op) => ({
        label: op.f === 'read' ? `read${op.serializable ? ' (serializable)' : ''}` : 'transfer',
        outcome: op.outcome,
        ...(op.error === undefined ? {} : { error: op.error }),
      })),
      top,
    );
  }

  /** A linearizable read after healing, retried through random nodes until it succeeds; false if it never did. */
  async finalRead(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const r = await this.read(-1, this.rand.pick(members(this.cluster)), false, true);
      if (r.outcome === 'ok') return true;
      await sleep(100);
    }
    return false;
  }

  private async client(c: number, r: Random): Promise<void> {
    let serializable = c % 2 === 1;
    while (!this.stopping) {
      const node = pickNode(this.cluster, r);
      let ok: boolean;
      if (r.next() < 0.5) {
        ok = (await this.read(c, node, serializable)).outcome === 'ok';
        serializable = !serializable;
      } else {
        const [from, to] = r.shuffle(this.model.accounts);
        const t = await this.transfer(c, node, from!, to!, r.int(1, this.o.maxTransfer));
        // Back off after an RPC error, not after a refusal of the workload's own making.
        ok = t.outcome === 'ok' || /^(insufficient funds|compare failed)/.test(t.error ?? '');
      }
      const pause = ok ? r.int(0, this.o.thinkMs) : r.int(50, 150);
      if (pause > 0) await sleep(pause);
    }
  }

  /** One Range over the prefix, recorded. */
  async read(client: number, node: number, serializable: boolean, final = false): Promise<BankRead> {
    const id = this.nextId++;
    const call = this.clock();
    const base = { f: 'read' as const, id, client, call, serializable, via: this.cluster.id(node), ...(final ? { final } : {}) };
    let op: BankRead;
    try {
      const res = await this.cluster.clients[node]!.etcd.range(
        { key: this.prefix, rangeEnd: this.end, serializable: serializable || this.o.staleReads === true },
        { timeoutMs: this.o.opTimeoutMs },
      );
      const accounts: Record<string, Account> = {};
      for (const kv of res.kvs) accounts[kv.key.toString('utf8')] = { balance: parseBalance(kv.value), modRevision: kv.modRevision };
      op = { ...base, ret: this.clock(), outcome: 'ok', revision: Number(res.header?.revision ?? 0n), accounts };
    } catch (e) {
      op = { ...base, ret: this.clock(), outcome: 'fail', error: describeError(e) };
    }
    this.history.push(op);
    return op;
  }

  /** Reads (recorded), then a Txn guarded by both mod_revisions; a failed compare retries with a fresh read. */
  private async transfer(client: number, node: number, from: string, to: string, amount: number): Promise<BankTransfer> {
    const id = this.nextId++;
    const call = this.clock();
    const base = { f: 'transfer' as const, id, client, call, from, to, amount, via: this.cluster.id(node) };
    const done = (op: BankTransfer): BankTransfer => (this.history.push(op), op);
    for (let attempt = 1; ; attempt++) {
      const snap = await this.read(client, node, false);
      const a = snap.accounts?.[from];
      const b = snap.accounts?.[to];
      if (snap.outcome !== 'ok' || a === undefined || b === undefined) {
        return done({ ...base, ret: this.clock(), outcome: 'fail', attempts: attempt, error: snap.error ?? 'an account is missing' });
      }
      if (!(a.balance >= amount))
        return done({ ...base, ret: this.clock(), outcome: 'fail', attempts: attempt, error: `insufficient funds: ${from}=${a.balance}` });
      const balances = { from: a.balance - amount, to: b.balance + amount };
      const fk = Buffer.from(from);
      const tk = Buffer.from(to);
      const req: etcdserverpb.TxnRequest = {
        compare: [etcd.modRevisionIs(fk, a.modRevision), etcd.modRevisionIs(tk, b.modRevision)],
        success: [etcd.putOp(fk, Buffer.from(String(balances.from))), etcd.putOp(tk, Buffer.from(String(balances.to)))],
        failure: [],
      };
      // The client sends the Txn again only when refused as not applied; every attempt counts for the outcome.
      const tries = new Attempts();
      try {
        const res = await this.cluster.clients[node]!.etcd.txn(req, { timeoutMs: this.o.opTimeoutMs, onFailedAttempt: tries.observer });
        if (res.succeeded)
          return done({
            ...base,
            ret: this.clock(),
            outcome: 'ok',
            revision: Number(res.header?.revision ?? 0n),
            balances,
            attempts: attempt,
          });
        if (attempt >= MAX_ATTEMPTS || this.stopping)
          return done({ ...base, ret: this.clock(), outcome: 'fail', attempts: attempt, error: `compare failed ${attempt} times` });
      } catch (e) {
        return done({
          ...base,
          ret: this.clock(),
          outcome: certainlyNotApplied(e) && !tries.mayHaveHappened ? 'fail' : 'info',
          attempts: attempt,
          error: describeError(e),
        });
      }
    }
  }
}
