import { removeDir, tempDir } from '@raftkv/testkit';
import type { Entry } from '@raftkv/consensus';
import { etcdserverpb, type ProposeRequest } from '@raftkv/proto';
import { encodeCommand, proposeCommand, responseOf } from '../src/storage/command.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import { KvStateMachine, SESSION_VALUE_BYTES, type ApplyOutcome } from '../src/storage/state-machine.js';
import { del as etcdDel, op, put as etcdPut, txn } from './mvcc/helpers.js';

type Cmd = NonNullable<ProposeRequest['command']>;
const put = (key: string, value: string): Cmd => ({ $case: 'put', put: { key, value: Buffer.from(value) } });
const del = (key: string): Cmd => ({ $case: 'delete', delete: { key } });
const cas = (key: string, expected: string | null, next: string): Cmd => ({
  $case: 'compareAndSwap',
  compareAndSwap: { key, expectedValue: Buffer.from(expected ?? ''), expectAbsent: expected === null, newValue: Buffer.from(next) },
});

describe('KvStateMachine', () => {
  let dir: string;
  let db: Db;
  let sm: KvStateMachine;
  let index: number;
  const entry = (command: Cmd, clientId = '', sequence = 0): Entry => ({
    index: ++index,
    term: 1,
    type: 'normal',
    data: proposeCommand({ command, clientId, sequence }),
  });
  const apply1 = (e: Entry): ApplyOutcome => db.transaction(() => sm.apply([e]))()[0]!;
  const ok = (o: ApplyOutcome) => {
    if (o === null || !o.ok) throw new Error(`expected success, got ${JSON.stringify(o)}`);
    return responseOf(o.response, 'propose');
  };

  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
    sm = new KvStateMachine(db);
    index = 0;
  });
  afterEach(() => {
    if (db.open) db.close();
    removeDir(dir);
  });

  test('put, get, delete report the previous value', () => {
    const r1 = ok(apply1(entry(put('a', '1'))));
    expect(r1).toMatchObject({ succeeded: true, previousFound: false, index: 1, term: 1 });
    const r2 = ok(apply1(entry(put('a', '2'))));
    expect(r2.previousFound).toBe(true);
    expect(r2.previousValue.toString()).toBe('1');
    expect(sm.get('a')?.toString()).toBe('2');
    const r3 = ok(apply1(entry(del('a'))));
    expect(r3.previousValue.toString()).toBe('2');
    expect(sm.get('a')).toBeUndefined();
    expect(sm.appliedIndex()).toBe(3);
  });

  test('a session keeps a large previous value out of its answer, and a retry says so', () => {
    const big = 'x'.repeat(SESSION_VALUE_BYTES + 1);
    ok(apply1(entry(put('a', big))));
    const first = entry(put('a', 'small'), 'c1', 1);
    expect(ok(apply1(first)).previousValue.toString()).toBe(big); // the first answer is whole
    const retried = ok(apply1({ ...first, index: ++index }));
    expect(retried).toMatchObject({ succeeded: true, previousFound: true, previousValueOmitted: true, index: first.index });
    expect(retried.previousValue.length).toBe(0);
    const stored = db.prepare('SELECT length(response) AS n FROM sessions').get() as { n: number };
    expect(stored.n).toBeLessThan(64);
    // A small previous value is kept whole.
    const second = entry(put('a', 'again'), 'c1', 2);
    ok(apply1(second));
    expect(ok(apply1({ ...second, index: ++index }))).toMatchObject({ previousValue: Buffer.from('small'), previousValueOmitted: false });
  });

  test('a NOSPACE alarm caps the writes that grow the store on both APIs, until it is deactivated', () => {
    const alarm = (action: number, memberID = 7) => ({
      index: ++index,
      term: 1,
      type: 'normal' as const,
      data: encodeCommand({ $case: 'alarm', alarm: { action, memberID, alarm: etcdserverpb.AlarmType.NOSPACE } }),
    });
    const { ACTIVATE, DEACTIVATE, GET } = etcdserverpb.AlarmRequest_AlarmAction;
    ok(apply1(entry(put('keep', 'v'))));
    const raised = apply1(alarm(ACTIVATE));
    expect(raised).toMatchObject({ ok: true, response: { alarm: { alarms: [{ memberID: 7, alarm: etcdserverpb.AlarmType.NOSPACE }] } } });
    expect(apply1(alarm(GET, 0))).toMatchObject({ ok: true, response: { alarm: { alarms: [{ memberID: 7 }] } } });
    const refused = (o: ApplyOutcome): string => (o !== null && o.ok === false ? o.error.message : `not refused: ${JSON.stringify(o)}`);
    expect(refused(apply1(entry(put('a', '1'))))).toBe('etcdserver: mvcc: database space exceeded');
    expect(refused(apply1(entry(cas('keep', 'v', 'w'))))).toBe('etcdserver: mvcc: database space exceeded');
    const etcd = (request: Parameters<typeof encodeCommand>[0]): Entry => ({
      index: ++index,
      term: 1,
      type: 'normal',
      data: encodeCommand(request),
    });
    expect(refused(apply1(etcd({ $case: 'put', put: etcdPut('b', 'v') })))).toBe('etcdserver: mvcc: database space exceeded');
    expect(refused(apply1(etcd({ $case: 'txn', txn: txn([], [op.put(etcdPut('b', 'v'))]) })))).toBe(
      'etcdserver: mvcc: database space exceeded',
    );
    expect(refused(apply1(etcd({ $case: 'leaseGrant', leaseGrant: { ID: 99, TTL: 60 } })))).toBe(
      'etcdserver: mvcc: database space exceeded',
    );
    // Deletes (both APIs) and a txn without puts still apply.
    expect(apply1(etcd({ $case: 'txn', txn: txn([], [op.del(etcdDel('nothing'))]) }))).toMatchObject({ ok: true });
    expect(ok(apply1(entry(del('keep')))).previousFound).toBe(true);
    // Deactivating another member's alarm changes nothing; the right one lowers the cap.
    expect(apply1(alarm(DEACTIVATE, 8))).toMatchObject({ ok: true, response: { alarm: { alarms: [] } } });
    expect(sm.alarms.capped).toBe(true);
    expect(apply1(alarm(DEACTIVATE))).toMatchObject({ ok: true, response: { alarm: { alarms: [{ memberID: 7 }] } } });
    expect(sm.alarms.capped).toBe(false);
    expect(ok(apply1(entry(put('a', '1')))).succeeded).toBe(true);
  });

  test('compare-and-swap succeeds only when the expectation holds', () => {
    expect(ok(apply1(entry(cas('k', null, 'v1')))).succeeded).toBe(true);
    const fail = ok(apply1(entry(cas('k', null, 'v2'))));
    expect(fail.succeeded).toBe(false);
    expect(fail.previousValue.toString()).toBe('v1');
    const wrong = ok(apply1(entry(cas('k', 'nope', 'v2'))));
    expect(wrong).toMatchObject({ succeeded: false, previousFound: true });
    expect(ok(apply1(entry(cas('k', 'v1', 'v2')))).succeeded).toBe(true);
    expect(sm.get('k')?.toString()).toBe('v2');
    expect(ok(apply1(entry(cas('missing', 'x', 'y')))).succeeded).toBe(false);
    expect(sm.get('missing')).toBeUndefined();
  });

  test('a retried (client_id, sequence) returns the first answer without applying again', () => {
    const first = ok(apply1(entry(put('c', 'one'), 'client-1', 7)));
    ok(apply1(entry(put('c', 'other'))));
    const retry = ok(apply1(entry(put('c', 'one'), 'client-1', 7)));
    expect(retry).toEqual(first);
    expect(sm.get('c')?.toString()).toBe('other');
    // A new sequence applies.
    ok(apply1(entry(put('c', 'two'), 'client-1', 8)));
    expect(sm.get('c')?.toString()).toBe('two');
  });

  test('sessions survive a restart and expire deterministically', () => {
    db.close();
    db = openDatabase(dir);
    sm = new KvStateMachine(db, { retainEntries: 4, sweepEvery: 2 });
    const first = ok(apply1(entry(put('s', '1'), 'c', 1)));
    db.close();
    db = openDatabase(dir);
    sm = new KvStateMachine(db, { retainEntries: 4, sweepEvery: 2 });
    expect(sm.appliedIndex()).toBe(1);
    expect(ok(apply1(entry(put('s', '1'), 'c', 1)))).toEqual(first);
    for (let i = 0; i < 6; i++) apply1(entry(put('x', String(i))));
    // Expired: the retry is now a new command.
    const again = ok(apply1(entry(put('s', '1'), 'c', 1)));
    expect(again.index).toBe(index);
  });

  test('skips entries already applied and keeps state and applied index together', () => {
    const e1 = entry(put('a', '1'));
    const e2 = entry(put('b', '2'));
    db.transaction(() => sm.apply([e1, e2]))();
    // Replayed after a restart: no effect, no outcome.
    const out = db.transaction(() => sm.apply([e1, e2, entry(put('c', '3'))]))();
    expect(out[0]).toBeNull();
    expect(ok(out[2]!).index).toBe(3);
    // A failed transaction rolls the state and the applied index back together.
    expect(() =>
      db.transaction(() => {
        sm.apply([entry(put('d', '4'))]);
        throw new Error('disk');
      })(),
    ).toThrow('disk');
    db.close();
    db = openDatabase(dir);
    sm = new KvStateMachine(db);
    expect(sm.appliedIndex()).toBe(3);
    expect(sm.get('d')).toBeUndefined();
  });

  test("etcd requests refused at apply change nothing, inside the Ready's transaction too", () => {
    const etcd = (request: Parameters<typeof encodeCommand>[0]): Entry => ({
      index: ++index,
      term: 1,
      type: 'normal',
      data: encodeCommand(request),
    });
    const good = [etcd({ $case: 'put', put: etcdPut('a', '1') }), etcd({ $case: 'put', put: etcdPut('b', '2') })];
    const refused = [
      etcd({ $case: 'put', put: etcdPut('missing', '', { ignoreValue: true }) }),
      etcd({ $case: 'put', put: etcdPut('x', '1', { lease: 7 }) }),
      // Passes the up-front checks ('b' exists) but fails after the from-key delete wrote its tombstones.
      etcd({ $case: 'txn', txn: txn([], [op.del(etcdDel('a', { rangeEnd: '\0' })), op.put(etcdPut('b', '', { ignoreValue: true }))]) }),
      etcd({ $case: 'compaction', compaction: { revision: 99, physical: false } }),
    ];
    const out = db.transaction(() => sm.apply([...good, ...refused, etcd({ $case: 'put', put: etcdPut('c', '3') })]))();
    expect(out.map((o) => o?.ok)).toEqual([true, true, false, false, false, false, true]);
    expect(sm.store.currentRevision()).toBe(4);
    expect(sm.store.compactedRevision()).toBe(-1);
    expect(sm.get('a')?.toString()).toBe('1');
    expect(sm.get('b')?.toString()).toBe('2');
    // The same state as a node that applied only the accepted requests.
    const dir2 = tempDir();
    const db2 = openDatabase(dir2);
    const sm2 = new KvStateMachine(db2);
    index = 0;
    db2.transaction(() => sm2.apply([...good.map((e) => ({ ...e, index: ++index })), etcd({ $case: 'put', put: etcdPut('c', '3') })]))();
    expect(sm2.digest().digest).toBe(sm.digest().digest);
    db2.close();
    removeDir(dir2);
  });

  test('reload re-reads the revision counters after the tables changed underneath (a snapshot install)', () => {
    apply1(entry(put('a', '1')));
    apply1(entry(put('a', '2')));
    expect(sm.store.currentRevision()).toBe(3);
    db.prepare('UPDATE mvcc_meta SET current_rev = 9, compact_rev = 5 WHERE id = 0').run();
    sm.reload();
    expect(sm.store.currentRevision()).toBe(9);
    expect(sm.store.compactedRevision()).toBe(5);
    apply1(entry(put('b', '1')));
    expect(sm.store.currentRevision()).toBe(10);
  });

  test('no-ops, garbage and invalid commands are applied deterministically', () => {
    const out = db.transaction(() =>
      sm.apply([
        { index: ++index, term: 2, type: 'normal', data: new Uint8Array() },
        { index: ++index, term: 2, type: 'normal', data: Buffer.from([0xff, 0xff, 0xff]) },
        entry(put('', 'x')),
      ]),
    )();
    expect(out[0]).toBeNull();
    expect(out[1]).toMatchObject({ ok: false });
    expect(out[2]).toMatchObject({ ok: false });
    expect(sm.appliedIndex()).toBe(3);
    expect(sm.appliedTerm()).toBe(1);
  });

  // The content is the MVCC store's, revisions included: the same writes in the same order give the
  // same digest on another database; the same pairs written in another order are another history.
  test('digest depends on content only and counts keys', () => {
    const d0 = sm.digest();
    expect(d0.keyCount).toBe(0);
    apply1(entry(put('b', '2')));
    apply1(entry(put('a', '1')));
    const d1 = sm.digest();
    const dir2 = tempDir();
    const db2 = openDatabase(dir2);
    const sm2 = new KvStateMachine(db2);
    index = 0;
    db2.transaction(() => sm2.apply([entry(put('b', '2')), entry(put('a', '1'))]))();
    expect(sm2.digest()).toEqual({ appliedIndex: 2, digest: d1.digest, keyCount: 2 });
    const dir3 = tempDir();
    const db3 = openDatabase(dir3);
    const sm3 = new KvStateMachine(db3);
    index = 0;
    db3.transaction(() => sm3.apply([entry(put('a', '1')), entry(put('b', '2'))]))();
    expect(sm3.digest().digest).not.toBe(d1.digest);
    db3.close();
    removeDir(dir3);
    db2.close();
    removeDir(dir2);
    expect(d1.digest).not.toBe(d0.digest);
  });
});
