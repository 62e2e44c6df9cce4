// The bank checker on synthetic histories: a correct history passes, and each kind of violation a
// faulty store could show is caught and reported with the operation that showed it.
import { checkBank, type Account, type BankOp, type BankRead, type BankTransfer } from '../src/checker/index.js';
import { rng } from './support/histories.js';

const model = { accounts: ['a0', 'a1', 'a2'], total: 300 };
let nextId = 0;

function read(call: number, ret: number, revision: number, accounts: Record<string, [number, number]>, serializable = false): BankRead {
  const accts: Record<string, Account> = {};
  for (const [k, [balance, modRevision]] of Object.entries(accounts)) accts[k] = { balance, modRevision };
  return { f: 'read', id: nextId++, client: 0, call, ret, serializable, outcome: 'ok', revision, accounts: accts };
}

function transfer(
  call: number,
  ret: number,
  from: string,
  to: string,
  amount: number,
  revision: number,
  balances: [number, number],
): BankTransfer {
  return {
    f: 'transfer',
    id: nextId++,
    client: 1,
    call,
    ret,
    from,
    to,
    amount,
    outcome: 'ok',
    revision,
    balances: { from: balances[0], to: balances[1] },
    attempts: 1,
  };
}

/** The initial state (written at revision 2) and a transfer a0 -> a1 of 10 at revision 3. */
const initial = { a0: [100, 2], a1: [100, 2], a2: [100, 2] } as Record<string, [number, number]>;
const afterT = { a0: [90, 3], a1: [110, 3], a2: [100, 2] } as Record<string, [number, number]>;

const kinds = (h: BankOp[]): string[] => checkBank(h, model).violations.map((v) => v.kind);

describe('correct bank histories pass', () => {
  test('reads before and after a transfer, linearizable and serializable', () => {
    const h = [read(0, 1, 2, initial), transfer(2, 3, 'a0', 'a1', 10, 3, [90, 110]), read(4, 5, 3, afterT), read(6, 7, 3, afterT, true)];
    const r = checkBank(h, model);
    expect(r.violations).toEqual([]);
    expect(r.verdict).toBe('ok');
    expect(r.reads).toEqual({ ok: 3, fail: 0, linearizable: 2, serializable: 1 });
    expect(r.transfers).toEqual({ ok: 1, fail: 0, info: 0 });
    expect(r.revisions).toEqual([2, 3]);
  });

  test('a serializable read may be stale, if it sums to the total', () => {
    const h = [transfer(0, 1, 'a0', 'a1', 10, 3, [90, 110]), read(2, 3, 3, afterT), read(4, 5, 2, initial, true)];
    expect(kinds(h)).toEqual([]);
  });

  test('a read concurrent with a transfer may see the state before it', () => {
    const h = [transfer(0, 10, 'a0', 'a1', 10, 3, [90, 110]), read(1, 2, 2, initial), read(11, 12, 3, afterT)];
    expect(kinds(h)).toEqual([]);
  });

  test('an indeterminate transfer may have happened or not; failed ops constrain nothing', () => {
    const info: BankTransfer = {
      f: 'transfer',
      id: nextId++,
      client: 2,
      call: 0,
      ret: 1,
      from: 'a2',
      to: 'a0',
      amount: 5,
      outcome: 'info',
      attempts: 1,
    };
    const failed: BankRead = {
      f: 'read',
      id: nextId++,
      client: 2,
      call: 0,
      ret: 1,
      serializable: false,
      outcome: 'fail',
      error: 'UNAVAILABLE',
    };
    const h = [info, failed, read(2, 3, 3, { a0: [105, 3], a1: [100, 2], a2: [95, 3] })];
    expect(kinds(h)).toEqual([]);
    expect(checkBank(h, model).transfers.info).toBe(1);
  });

  test('a random serial bank history passes', () => {
    const rand = rng(5);
    const bal = new Map(model.accounts.map((a) => [a, { balance: 100, modRevision: 2 }]));
    const h: BankOp[] = [];
    let rev = 2;
    let t = 0;
    for (let i = 0; i < 500; i++) {
      const snap = (): Record<string, [number, number]> => Object.fromEntries([...bal].map(([k, a]) => [k, [a.balance, a.modRevision]]));
      if (rand() < 0.5) h.push(read(t, t + 1, rev, snap(), rand() < 0.5));
      else {
        const from = model.accounts[Math.floor(rand() * 3)]!;
        const to = model.accounts.find((a) => a !== from)!;
        const amount = Math.min(bal.get(from)!.balance, 1 + Math.floor(rand() * 20));
        rev++;
        bal.set(from, { balance: bal.get(from)!.balance - amount, modRevision: rev });
        bal.set(to, { balance: bal.get(to)!.balance + amount, modRevision: rev });
        h.push(transfer(t, t + 1, from, to, amount, rev, [bal.get(from)!.balance, bal.get(to)!.balance]));
      }
      t += 2;
    }
    expect(kinds(h)).toEqual([]);
  });
});

describe('violations are caught', () => {
  test('a read that does not sum to the total', () => {
    const h = [read(0, 1, 3, { a0: [90, 3], a1: [100, 2], a2: [100, 2] })];
    const r = checkBank(h, model);
    expect(r.verdict).toBe('violation');
    expect(r.violations.map((v) => v.kind)).toEqual(['wrong-total']);
    expect(r.violations[0]!.op).toBe(h[0]);
    expect(r.violations[0]!.report).toContain('sum to 290, not 300, at revision 3');
    expect(r.violations[0]!.report).toContain('a0=90@3');
  });

  test('a serializable read must sum to the total too', () => {
    expect(kinds([read(0, 1, 3, { a0: [90, 3], a1: [100, 2], a2: [100, 2] }, true)])).toEqual(['wrong-total']);
  });

  test('a negative balance, even when the sum is right', () => {
    expect(kinds([read(0, 1, 3, { a0: [-10, 3], a1: [210, 3], a2: [100, 2] })])).toEqual(['negative-balance']);
  });

  test('a balance that is not a number', () => {
    expect(kinds([read(0, 1, 3, { a0: [Number.NaN, 3], a1: [100, 2], a2: [100, 2] })])).toEqual(['negative-balance', 'wrong-total']);
  });

  test('a missing account or a stray key under the prefix', () => {
    expect(kinds([read(0, 1, 3, { a0: [200, 3], a1: [100, 2] })])).toEqual(['missing-account']);
    expect(kinds([read(0, 1, 3, { ...initial, zz: [0, 3] })])).toEqual(['unexpected-key']);
  });

  test('two reads at one revision that disagree (replicas diverged)', () => {
    const h = [read(0, 1, 3, afterT), read(2, 3, 3, { a0: [95, 3], a1: [105, 3], a2: [100, 2] }, true)];
    const v = checkBank(h, model).violations;
    expect(v.map((x) => x.kind)).toEqual(['divergent-revision']);
    expect(v[0]!.op).toBe(h[1]);
    expect(v[0]!.other).toBe(h[0]);
  });

  test('a linearizable read older than a read that completed before it began', () => {
    const h = [read(0, 1, 3, afterT), read(2, 3, 2, initial)];
    const v = checkBank(h, model).violations;
    expect(v.map((x) => x.kind)).toEqual(['stale-read']);
    expect(v[0]!.op).toBe(h[1]);
    expect(v[0]!.report).toContain('begun after an operation at revision 3 completed');
  });

  test('a linearizable read older than an acknowledged transfer (which is then lost)', () => {
    const h = [transfer(0, 1, 'a0', 'a1', 10, 3, [90, 110]), read(2, 3, 2, initial)];
    expect(kinds(h)).toEqual(['stale-read']);
  });

  test('an acknowledged transfer missing from a later revision (lost write)', () => {
    // The read is at revision 4 (something else happened) but a0/a1 still show revision 2.
    const h = [transfer(0, 1, 'a0', 'a1', 10, 3, [90, 110]), read(2, 3, 4, { a0: [100, 2], a1: [100, 2], a2: [100, 4] }, true)];
    const v = checkBank(h, model).violations;
    expect(v.map((x) => x.kind)).toEqual(['lost-transfer', 'lost-transfer']);
    expect(v[0]!.other).toBe(h[0]);
  });

  test('an acknowledged transfer whose revision shows other balances', () => {
    const h = [transfer(0, 1, 'a0', 'a1', 10, 3, [90, 110]), read(2, 3, 3, { a0: [80, 3], a1: [120, 3], a2: [100, 2] })];
    expect(kinds(h)).toEqual(['lost-transfer', 'lost-transfer']);
  });

  test('two acknowledged transfers at one revision', () => {
    const h = [transfer(0, 1, 'a0', 'a1', 10, 3, [90, 110]), transfer(0, 1, 'a2', 'a1', 10, 3, [90, 120])];
    expect(kinds(h)).toContain('duplicate-revision');
  });

  test('a mod_revision after the read revision', () => {
    expect(kinds([read(0, 1, 2, afterT)])).toEqual(['future-mod-revision']);
  });
});
