// The retry contract, proven against scripted in-process servers: a write without a session is sent
// once unless the server said it was not applied; with a session or the `raftkv-retry` trailer it is
// sent again; reads move on to another endpoint; a `raftkv-leader` hint is followed.
import { credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { ProposeRequest } from '@raftkv/proto';
import { prefixEnd, RaftkvClient, TlsConfigError } from '../src/index.js';
import { healthy, rangeWithBigHeader, startFake, type Fake } from './fake-server.js';

let fakes: Fake[] = [];
let clients: RaftkvClient[] = [];

async function cluster(leader = 'n1'): Promise<[Fake, Fake, Fake]> {
  fakes = await Promise.all(['n1', 'n2', 'n3'].map((id) => startFake(id, healthy(id, leader))));
  return fakes as [Fake, Fake, Fake];
}
function client(eps: Fake[], extra: Partial<ConstructorParameters<typeof RaftkvClient>[0]> = {}): RaftkvClient {
  const c = new RaftkvClient({ endpoints: eps.map((f) => f.address), timeoutMs: 3000, backoffMs: 10, ...extra });
  clients.push(c);
  return c;
}
const count = (f: Fake, method: string): number => f.calls.get(method)?.length ?? 0;
const fail = (p: Promise<unknown>): Promise<ServiceError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as ServiceError,
  );

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await Promise.all(fakes.map((f) => f.stop()));
  fakes = [];
});

describe('raftkv.v1 writes', () => {
  test('without a session, UNAVAILABLE without the retry trailer is NOT retried', async () => {
    const [a, b, c] = await cluster();
    a.script.set('propose', [{ code: status.UNAVAILABLE, details: 'leader lost leadership while the command was pending' }]);
    const e = await fail(client([a, b, c]).put('k', 'v'));
    expect(e.code).toBe(status.UNAVAILABLE);
    expect(e.details).toContain('leader lost leadership');
    expect([count(a, 'propose'), count(b, 'propose'), count(c, 'propose')]).toEqual([1, 0, 0]);
  });

  test('without a session, DEADLINE_EXCEEDED (the node never answered) is NOT retried', async () => {
    const [a, b, c] = await cluster();
    a.script.set('propose', [{ hang: true }]);
    const e = await fail(client([a, b, c], { attemptTimeoutMs: 300 }).put('k', 'v'));
    expect(e.code).toBe(status.DEADLINE_EXCEEDED);
    expect([count(a, 'propose'), count(b, 'propose'), count(c, 'propose')]).toEqual([1, 0, 0]);
  });

  test('the raftkv-retry trailer (not applied) makes it safe: sent again on the next endpoint', async () => {
    const [a, b, c] = await cluster();
    a.script.set('propose', [{ code: status.UNAVAILABLE, retry: true }]);
    const r = await client([a, b, c]).put('k', 'v');
    expect(r.index).toBe(7);
    expect([count(a, 'propose'), count(b, 'propose')]).toEqual([1, 1]);
  });

  test('a connection that was never established is not an ambiguity: the next endpoint gets the write', async () => {
    const [a, b] = await cluster();
    await a.stop();
    const r = await client([a, b]).put('k', 'v');
    expect(r.succeeded).toBe(true);
    expect(count(b, 'propose')).toBe(1);
  });

  test('with the client-managed session, an ambiguous failure is retried with the SAME client_id and sequence', async () => {
    const [a, b, c] = await cluster();
    a.script.set('propose', [{ code: status.UNAVAILABLE }]);
    b.script.set('propose', [{ code: status.DEADLINE_EXCEEDED }]);
    const cl = client([a, b, c], { session: { clientId: 'app-1' } });
    await cl.put('k', 'v');
    const sent = [a, b, c].map((f) => f.calls.get('propose')![0] as ProposeRequest);
    expect(sent.map((r) => [r.clientId, r.sequence])).toEqual([
      ['app-1', 1],
      ['app-1', 1],
      ['app-1', 1],
    ]);
    await cl.put('k', 'w');
    expect((c.calls.get('propose')![1] as ProposeRequest).sequence).toBe(2); // the next call, the next sequence
  });

  test("a call's own session pair makes it retry-safe without a client session", async () => {
    const [a, b] = await cluster();
    a.script.set('propose', [{ code: status.UNAVAILABLE }]);
    await client([a, b]).put('k', 'v', { session: { clientId: 'ctl', sequence: 42 } });
    expect((b.calls.get('propose')![0] as ProposeRequest).sequence).toBe(42);
  });

  test('onFailedAttempt hears every failed attempt, not only the last one the call rejects with', async () => {
    const [a, b] = await cluster();
    a.script.set('propose', [{ code: status.UNAVAILABLE, details: 'leader lost leadership' }]);
    b.script.set('propose', [{ code: status.INVALID_ARGUMENT, details: 'refused' }]);
    const seen: [string, number][] = [];
    const onFailedAttempt = (address: string, e: unknown): void => void seen.push([address, (e as ServiceError).code]);
    const e = await fail(client([a, b]).put('k', 'v', { session: { clientId: 'ctl', sequence: 1 }, onFailedAttempt }));
    // The answer is the last attempt's; the first one, which may still commit, is not lost to the caller.
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(seen).toEqual([
      [a.address, status.UNAVAILABLE],
      [b.address, status.INVALID_ARGUMENT],
    ]);
  });

  test('a non-retriable status is answered at once, even with a session', async () => {
    const [a, b] = await cluster();
    a.script.set('propose', [{ code: status.INVALID_ARGUMENT, details: 'key must not be empty' }]);
    const e = await fail(client([a, b], { session: true }).put('', 'v'));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(count(b, 'propose')).toBe(0);
  });
});

describe('reads, leader hints, deadlines', () => {
  test('a read is retried on another endpoint after UNAVAILABLE and DEADLINE_EXCEEDED', async () => {
    const [a, b, c] = await cluster();
    a.script.set('read', [{ code: status.UNAVAILABLE }]);
    b.script.set('read', [{ hang: true }]);
    const r = await client([a, b, c], { attemptTimeoutMs: 300 }).read('k');
    expect(r.value.toString()).toBe('from n3');
    expect([count(a, 'read'), count(b, 'read'), count(c, 'read')]).toEqual([1, 1, 1]);
  });

  test('the endpoint that answered is tried first next time', async () => {
    const [a, b] = await cluster();
    a.script.set('read', [{ code: status.UNAVAILABLE }]);
    const cl = client([a, b]);
    await cl.read('k');
    await cl.read('k');
    expect([count(a, 'read'), count(b, 'read')]).toEqual([1, 2]);
  });

  test('a refusal naming the leader (raftkv-leader) sends the call straight to that member', async () => {
    const [a, b, c] = await cluster('n3');
    a.script.set('transferLeadership', [{ code: status.UNAVAILABLE, details: 'not the leader', leader: 'n3' }]);
    const r = await client([a, b, c]).transferLeadership('n2');
    expect(r.leaderId).toBe('n3');
    expect([count(a, 'transferLeadership'), count(b, 'transferLeadership'), count(c, 'transferLeadership')]).toEqual([1, 0, 1]);
  });

  test('a leader hint is followed for a write the server said was not applied', async () => {
    const [a, b, c] = await cluster('n3');
    a.script.set('propose', [{ code: status.UNAVAILABLE, retry: true, leader: 'n3' }]);
    await client([a, b, c]).put('k', 'v');
    expect([count(a, 'propose'), count(b, 'propose'), count(c, 'propose')]).toEqual([1, 0, 1]);
  });

  test('retries: false is one attempt on the first endpoint, whatever the error and the session', async () => {
    const [a, b] = await cluster();
    a.script.set('read', [{ code: status.UNAVAILABLE }]);
    a.script.set('propose', [{ code: status.UNAVAILABLE, retry: true, leader: 'n2' }]);
    a.script.set('range', [{ code: status.UNAVAILABLE }]);
    const cl = client([a, b], { session: true });
    expect((await fail(cl.read('k', { retries: false }))).code).toBe(status.UNAVAILABLE);
    expect((await fail(cl.put('k', 'v', { retries: false }))).code).toBe(status.UNAVAILABLE);
    expect((await fail(cl.etcd.range({ key: Buffer.from('k') }, { retries: false }))).code).toBe(status.UNAVAILABLE);
    expect([count(a, 'read'), count(a, 'propose'), count(a, 'range')]).toEqual([1, 1, 1]);
    expect([count(b, 'read'), count(b, 'propose'), count(b, 'range')]).toEqual([0, 0, 0]);
    expect((await cl.read('k')).value.toString()).toBe('from n1'); // the default still retries (a's script is spent)
  });

  test('the call deadline bounds every retry', async () => {
    const [a, b] = await cluster();
    for (const f of [a, b])
      f.script.set(
        'read',
        Array.from({ length: 1000 }, () => ({ code: status.UNAVAILABLE })),
      );
    const t0 = Date.now();
    const e = await fail(client([a, b], { timeoutMs: 400 }).read('k'));
    expect(e.code).toBe(status.UNAVAILABLE);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(count(a, 'read')).toBeGreaterThan(1);
  });

  test('an answer that came near the deadline is final: no attempt starts that could only time out', async () => {
    const [a, b] = await cluster();
    a.script.set('read', [{ code: status.UNAVAILABLE, details: 'no leader before the deadline', afterMs: 800 }]);
    b.script.set('read', [{ hang: true }]);
    const e = await fail(client([a, b], { timeoutMs: 1000 }).read('k'));
    expect(e.code).toBe(status.UNAVAILABLE);
    expect(e.details).toContain('no leader');
    expect([count(a, 'read'), count(b, 'read')]).toEqual([1, 0]);
  });
});

describe('etcd KV face', () => {
  test('Put without the trailer is not retried; with it, it is; Range is retried freely', async () => {
    const [a, b] = await cluster();
    const cl = client([a, b]);
    a.script.set('put', [{ code: status.UNAVAILABLE, details: 'etcdserver: request timed out' }]);
    expect((await fail(cl.etcd.put({ key: Buffer.from('k'), value: Buffer.from('v') }))).details).toBe('etcdserver: request timed out');
    expect(count(b, 'put')).toBe(0);
    a.script.set('put', [{ code: status.UNAVAILABLE, retry: true }]);
    expect((await cl.etcd.put({ key: Buffer.from('k'), value: Buffer.from('v') })).header?.revision).toBe(6n);
    expect(count(b, 'put')).toBe(1);
    b.script.set('range', [{ code: status.UNAVAILABLE }]); // b answered last: it is asked first
    expect((await cl.etcd.range({ key: Buffer.from('k') })).header?.revision).toBe(5n);
    expect([count(a, 'range'), count(b, 'range')]).toEqual([1, 1]);
  });

  test('prefixEnd: the last byte below 0xff incremented, trailing 0xff dropped; all 0xff means every key', () => {
    expect(prefixEnd(Buffer.from('bank/'))).toEqual(Buffer.from('bank0'));
    expect(prefixEnd(Buffer.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixEnd(Buffer.from([0xff]))).toEqual(Buffer.from([0]));
  });

  test('a txn with a write is a write; a txn of ranges only is a read', async () => {
    const [a, b] = await cluster();
    const cl = client([a, b]);
    const write = { success: [{ request: { $case: 'requestPut' as const, requestPut: { key: Buffer.from('k') } } }] };
    a.script.set('txn', [{ code: status.UNAVAILABLE }]);
    await fail(cl.etcd.txn(write));
    expect(count(b, 'txn')).toBe(0);
    const read = { failure: [{ request: { $case: 'requestRange' as const, requestRange: { key: Buffer.from('k') } } }] };
    a.script.set('txn', [{ code: status.UNAVAILABLE }]);
    expect((await cl.etcd.txn(read)).succeeded).toBe(true);
    expect(count(b, 'txn')).toBe(1);
  });

  test('header ids beyond 2^53 (real etcd) are exact', async () => {
    const [a] = await cluster();
    const kv = { key: Buffer.from('a'), value: Buffer.from('1'), createRevision: 2, modRevision: 4, version: 2, lease: 0 };
    a.script.set('range', [
      { ok: rangeWithBigHeader(324952591200643719n, 3319814642761637952n, 4n, { kvs: [kv], more: false, count: 1 }) },
    ]);
    const r = await client([a]).etcd.range({ key: Buffer.from('a') });
    expect(r.header).toEqual({ clusterId: 324952591200643719n, memberId: 3319814642761637952n, revision: 4n, raftTerm: 0n });
    expect(r.kvs[0]?.value.toString()).toBe('1');
    expect(r.count).toBe(1);
  });
});

describe('options', () => {
  test('ready-made channel credentials connect like tls would; giving both is refused', async () => {
    const [a] = await cluster();
    const r = await client([a], { credentials: credentials.createInsecure() }).put('k', 'v');
    expect(r.index).toBe(7);
    expect(() => new RaftkvClient({ endpoints: [a.address], credentials: credentials.createInsecure(), tls: {} })).toThrow(TlsConfigError);
  });
});
