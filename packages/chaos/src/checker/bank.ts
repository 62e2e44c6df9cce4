/**
 * Jepsen's bank workload, checked: accounts under one prefix hold a fixed total; transfers move money
 * by a transaction guarded by both accounts' mod_revision; every read sees all accounts at one revision.
 * Besides Jepsen's invariants (every read sums to the total, no negative balance) the revisions let us
 * check more, all from what clients saw:
 * - two reads at the same revision saw the same accounts (replicas agree on every revision);
 * - a linearizable read never shows a revision older than one an operation completed before it began;
 * - an acknowledged transfer is never lost: a read at or after its revision shows both accounts modified
 *   at or after it, with the transfer's balances if not modified since.
 */

export interface Account {
  /** NaN if the stored value was not a decimal integer. */
  readonly balance: number;
  readonly modRevision: number;
}

interface BankOpBase {
  readonly id: number;
  readonly client: number;
  readonly call: number;
  readonly ret: number;
  /** For reports: the node called, and the error. */
  readonly via?: string;
  readonly error?: string;
}

/** One Range over the account prefix. */
export interface BankRead extends BankOpBase {
  readonly f: 'read';
  readonly serializable: boolean;
  /** A read after the cluster healed, at the end of the run. */
  readonly final?: boolean;
  readonly outcome: 'ok' | 'fail';
  /** ok: the revision the read reflects (its header) and every key it found under the prefix. */
  readonly revision?: number;
  readonly accounts?: Readonly<Record<string, Account>>;
}

/** A transfer: fresh read, then a Txn comparing both mod_revisions (retried on a failed compare). */
export interface BankTransfer extends BankOpBase {
  readonly f: 'transfer';
  readonly from: string;
  readonly to: string;
  readonly amount: number;
  /** ok: applied; fail: certainly not applied (insufficient funds, compares kept failing, refused); info: unknown. */
  readonly outcome: 'ok' | 'fail' | 'info';
  /** ok: the revision the Txn created, and the balances it wrote. */
  readonly revision?: number;
  readonly balances?: { readonly from: number; readonly to: number };
  readonly attempts: number;
}

export type BankOp = BankRead | BankTransfer;

export interface BankModel {
  readonly accounts: readonly string[];
  readonly total: number;
}

export type BankViolationKind =
  | 'wrong-total'
  | 'negative-balance'
  | 'missing-account'
  | 'unexpected-key'
  | 'future-mod-revision'
  | 'divergent-revision'
  | 'stale-read'
  | 'duplicate-revision'
  | 'lost-transfer';

export interface BankViolation {
  readonly kind: BankViolationKind;
  /** The operation that showed it, and the one it contradicts (if any). */
  readonly op: BankOp;
  readonly other?: BankOp;
  readonly report: string;
}

export interface BankCheck {
  readonly verdict: 'ok' | 'violation';
  readonly reads: { readonly ok: number; readonly fail: number; readonly linearizable: number; readonly serializable: number };
  readonly transfers: { readonly ok: number; readonly fail: number; readonly info: number };
  /** Lowest and highest revision any read saw. */
  readonly revisions: readonly [number, number] | null;
  readonly violations: readonly BankViolation[];
}

const okRead = (op: BankOp): op is BankRead & { revision: number; accounts: Record<string, Account> } =>
  op.f === 'read' && op.outcome === 'ok' && op.revision !== undefined && op.accounts !== undefined;
const okTransfer = (op: BankOp): op is BankTransfer & { revision: number; balances: { from: number; to: number } } =>
  op.f === 'transfer' && op.outcome === 'ok' && op.revision !== undefined && op.balances !== undefined;

/** Checks a bank history against the model (every check, every violation; reports name the ops). */
export function checkBank(history: readonly BankOp[], model: BankModel): BankCheck {
  const violations: BankViolation[] = [];
  const add = (kind: BankViolationKind, op: BankOp, why: string, other?: BankOp): void => {
    const lines = [`${kind}: ${why}`, `    ${renderBankOp(op)}`];
    if (other !== undefined) lines.push(`  contradicts`, `    ${renderBankOp(other)}`);
    violations.push({ kind, op, ...(other === undefined ? {} : { other }), report: lines.join('\n') });
  };
  const reads = history.filter(okRead);
  const transfers = history.filter(okTransfer);

  for (const r of reads) checkSnapshot(r, model, add);
  checkSameRevision(reads, add);
  checkRealTime(reads, transfers, add);
  checkTransfersVisible(reads, transfers, add);

  const count = <T extends BankOp>(ops: readonly T[], p: (o: T) => boolean): number => ops.filter(p).length;
  const allReads = history.filter((o): o is BankRead => o.f === 'read');
  const allTransfers = history.filter((o): o is BankTransfer => o.f === 'transfer');
  const revs = reads.map((r) => r.revision);
  return {
    verdict: violations.length === 0 ? 'ok' : 'violation',
    reads: {
      ok: reads.length,
      fail: count(allReads, (o) => o.outcome !== 'ok'),
      linearizable: count(reads, (o) => !o.serializable),
      serializable: count(reads, (o) => o.serializable),
    },
    transfers: {
      ok: transfers.length,
      fail: count(allTransfers, (o) => o.outcome === 'fail'),
      info: count(allTransfers, (o) => o.outcome === 'info'),
    },
    revisions: revs.length === 0 ? null : [Math.min(...revs), Math.max(...revs)],
    violations,
  };
}

type Add = (kind: BankViolationKind, op: BankOp, why: string, other?: BankOp) => void;
type OkRead = BankRead & { revision: number; accounts: Record<string, Account> };
type OkTransfer = BankTransfer & { revision: number; balances: { from: number; to: number } };

/** One read by itself: every account there, nothing else, no negative balance, the total, no mod_revision from the future. */
function checkSnapshot(r: OkRead, model: BankModel, add: Add): void {
  const missing = model.accounts.filter((a) => r.accounts[a] === undefined);
  if (missing.length > 0) add('missing-account', r, `accounts ${missing.join(', ')} absent at revision ${r.revision}`);
  const extra = Object.keys(r.accounts).filter((k) => !model.accounts.includes(k));
  if (extra.length > 0) add('unexpected-key', r, `keys ${extra.join(', ')} under the account prefix`);
  const negative = Object.entries(r.accounts).filter(([, a]) => !(a.balance >= 0));
  if (negative.length > 0)
    add('negative-balance', r, `${negative.map(([k, a]) => `${k}=${a.balance}`).join(', ')} at revision ${r.revision}`);
  const sum = Object.values(r.accounts).reduce((s, a) => s + a.balance, 0);
  if (sum !== model.total) add('wrong-total', r, `balances sum to ${sum}, not ${model.total}, at revision ${r.revision}`);
  const future = Object.entries(r.accounts).filter(([, a]) => a.modRevision > r.revision);
  if (future.length > 0)
    add(
      'future-mod-revision',
      r,
      `${future.map(([k, a]) => `${k} mod_revision ${a.modRevision}`).join(', ')} > read revision ${r.revision}`,
    );
}

const sameAccounts = (a: Readonly<Record<string, Account>>, b: Readonly<Record<string, Account>>): boolean => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.join('\0') === kb.join('\0') && ka.every((k) => a[k]!.balance === b[k]!.balance && a[k]!.modRevision === b[k]!.modRevision);
};

/** A revision names one state of the store: every read at it, from any node, saw the same accounts. */
function checkSameRevision(reads: readonly OkRead[], add: Add): void {
  const first = new Map<number, OkRead>();
  for (const r of reads) {
    const f = first.get(r.revision);
    if (f === undefined) first.set(r.revision, r);
    else if (!sameAccounts(f.accounts, r.accounts))
      add('divergent-revision', r, `two reads at revision ${r.revision} saw different accounts`, f);
  }
}

/**
 * Real time: a linearizable read begins after an operation completed must not see an older revision
 * than that operation saw (a read) or made (a transfer). Serializable reads may be stale: exempt.
 * Also: each acknowledged transfer made its own revision.
 */
function checkRealTime(reads: readonly OkRead[], transfers: readonly OkTransfer[], add: Add): void {
  const byRev = new Map<number, OkTransfer>();
  for (const t of transfers) {
    const other = byRev.get(t.revision);
    if (other !== undefined) add('duplicate-revision', t, `two acknowledged transfers at revision ${t.revision}`, other);
    else byRev.set(t.revision, t);
  }
  const done = [...reads.filter((r) => !r.serializable), ...transfers].sort((a, b) => a.ret - b.ret);
  const starts = reads.filter((r) => !r.serializable).sort((a, b) => a.call - b.call);
  let i = 0;
  let best: (OkRead | OkTransfer) | undefined;
  for (const r of starts) {
    for (; i < done.length && done[i]!.ret < r.call; i++) if (best === undefined || done[i]!.revision > best.revision) best = done[i]!;
    if (best !== undefined && r.revision < best.revision) {
      add(
        'stale-read',
        r,
        `linearizable read at revision ${r.revision}, begun after an operation at revision ${best.revision} completed`,
        best,
      );
    }
  }
}

/** An acknowledged transfer stays: every read at or after its revision shows it, or a later write to the account. */
function checkTransfersVisible(reads: readonly OkRead[], transfers: readonly OkTransfer[], add: Add): void {
  // Per account: acknowledged writes as (revision, balance, transfer), by revision.
  const writes = new Map<string, { rev: number; balance: number; t: OkTransfer }[]>();
  for (const t of transfers) {
    for (const [acct, balance] of [
      [t.from, t.balances.from],
      [t.to, t.balances.to],
    ] as const) {
      let list = writes.get(acct);
      if (list === undefined) writes.set(acct, (list = []));
      list.push({ rev: t.revision, balance, t });
    }
  }
  for (const list of writes.values()) list.sort((a, b) => a.rev - b.rev);
  for (const r of reads) {
    for (const [acct, a] of Object.entries(r.accounts)) {
      const list = writes.get(acct);
      if (list === undefined) continue;
      const latest = lastAtOrBefore(list, r.revision);
      if (latest === undefined) continue;
      if (a.modRevision < latest.rev) {
        add(
          'lost-transfer',
          r,
          `${acct} last modified at revision ${a.modRevision} in a read at revision ${r.revision}, yet an acknowledged transfer wrote it at revision ${latest.rev}`,
          latest.t,
        );
      } else if (a.modRevision === latest.rev && a.balance !== latest.balance) {
        add(
          'lost-transfer',
          r,
          `${acct}=${a.balance} at mod_revision ${a.modRevision}, but the acknowledged transfer at that revision wrote ${latest.balance}`,
          latest.t,
        );
      }
    }
  }
}

/** The last entry with rev <= at (binary search over entries sorted by rev). */
function lastAtOrBefore<T extends { rev: number }>(list: readonly T[], at: number): T | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.rev <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : list[lo - 1];
}

/** One bank operation as a line, for reports. */
export function renderBankOp(op: BankOp): string {
  const ret = op.f === 'transfer' && op.outcome === 'info' ? '         …' : op.ret.toFixed(1).padStart(10);
  const head = `[${op.call.toFixed(1).padStart(10)} ,${ret} ] client ${String(op.client).padStart(3)}${op.via === undefined ? '' : ` via ${op.via}`} #${op.id}`;
  const err = op.error === undefined ? '' : ` [${op.error}]`;
  if (op.f === 'read') {
    const kind = `${op.final === true ? 'final ' : ''}read (${op.serializable ? 'serializable' : 'linearizable'})`;
    if (op.outcome !== 'ok' || op.accounts === undefined) return `${head} ${kind} FAILED${err}`;
    const accts = Object.entries(op.accounts)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, a]) => `${k}=${a.balance}@${a.modRevision}`)
      .join(' ');
    const sum = Object.values(op.accounts).reduce((s, a) => s + a.balance, 0);
    return `${head} ${kind} at revision ${op.revision}: ${accts} (sum ${sum})`;
  }
  const what = `transfer ${op.amount} ${op.from} -> ${op.to}`;
  if (op.outcome === 'ok')
    return `${head} ${what} ok at revision ${op.revision} (${op.from}=${op.balances?.from}, ${op.to}=${op.balances?.to}; attempt ${op.attempts})`;
  return `${head} ${what} ${op.outcome === 'fail' ? 'FAILED (did not happen)' : 'INDETERMINATE'}${err}`;
}
