// etcd's concurrency recipes (locks and elections: a lease, a key under a prefix with the lowest
// create_revision, a watch on the predecessor's delete) run in the client; they must work unchanged
// against raftkv. Checked with etcdctl 3.4's `lock` and `elect` (and `elect -l`), each contender on
// another member, and with the npm etcd3 package's lock() and election(), against etcd 3.4 first and
// then a 3-node raftkv.
import { waitFor, spawnTracked } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { EtcdLockFailedError } from 'etcd3';
import { describeTargets, useClient } from './etcd3-targets.js';
import { ETCDCTL } from './etcd.js';
import type { Target } from './target.js';

/** A long-running etcdctl; its standard output so far. */
interface Running {
  readonly proc: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
}

/** Every etcdctl a test started: killed after it, whatever happened. */
const started: Running[] = [];
afterEach(async () => {
  for (const r of started.splice(0)) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await r.exited;
  }
});

function start(endpoint: string, args: readonly string[]): Running {
  const proc = spawnTracked(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', () => undefined);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const r = { proc, out: () => out, exited };
  started.push(r);
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

describeTargets('locks and elections against %s', (_name, startTarget) => {
  let target: Target | undefined;
  const etcd = useClient(async () => (target = await startTarget()));
  const member = (i: number) => target!.endpoints[i % target!.endpoints.length]!;

  test('etcdctl lock: one holder at a time; the next gets it once the holder lets go', async () => {
    const a = start(member(0), ['lock', 'mutex']);
    await waitFor('the first holder', () => (lines(a.out()).length > 0 ? true : undefined), 20_000);
    expect(lines(a.out())).toEqual([expect.stringMatching(/^mutex\/[0-9a-f]+$/)]);
    const b = start(member(1), ['lock', 'mutex']);
    await sleep(2000);
    expect(b.out()).toBe(''); // waits behind the holder
    a.proc.kill('SIGINT'); // etcdctl unlocks and exits
    expect(await a.exited).toBe(0);
    await waitFor('the second holder', () => (lines(b.out()).length > 0 ? true : undefined), 20_000);
    expect(lines(b.out())).toEqual([expect.stringMatching(/^mutex\/[0-9a-f]+$/)]);
    expect(b.out()).not.toBe(a.out());
    b.proc.kill('SIGINT');
    expect(await b.exited).toBe(0);
    // With a command: it runs while holding the lock, and its output is etcdctl's.
    const c = start(member(2), ['lock', 'mutex', 'echo', 'held']);
    expect(await c.exited).toBe(0);
    expect(c.out()).toBe('held\n');
  });

  test("a crashed holder's lock is freed when its lease expires", async () => {
    const a = start(member(0), ['lock', '--ttl=2', 'crash-mutex']);
    await waitFor('the holder', () => (lines(a.out()).length > 0 ? true : undefined), 20_000);
    const b = start(member(1), ['lock', 'crash-mutex']);
    await sleep(1000);
    expect(b.out()).toBe('');
    a.proc.kill('SIGKILL'); // no unlock: only the lease's expiry frees it
    const killed = Date.now();
    await waitFor('the next holder', () => (lines(b.out()).length > 0 ? true : undefined), 20_000);
    expect(Date.now() - killed).toBeGreaterThan(1000); // not before the lease (2 s, renewed every 2/3 s) expired
  });

  test('etcdctl elect: the first campaigner leads, an observer sees it, the next leads once it resigns', async () => {
    const a = start(member(0), ['elect', 'office', 'p1']);
    await waitFor('p1 to lead', () => (lines(a.out()).length === 2 ? true : undefined), 20_000);
    expect(lines(a.out())[1]).toBe('p1');
    const observer = start(member(1), ['elect', '-l', 'office']);
    await waitFor('the observer to see p1', () => (lines(observer.out()).includes('p1') ? true : undefined), 20_000);
    const b = start(member(2), ['elect', 'office', 'p2']);
    await sleep(2000);
    expect(b.out()).toBe('');
    a.proc.kill('SIGINT'); // resigns
    expect(await a.exited).toBe(0);
    await waitFor('p2 to lead', () => (lines(b.out()).length === 2 ? true : undefined), 20_000);
    expect(lines(b.out())[1]).toBe('p2');
    await waitFor('the observer to see p2', () => (lines(observer.out()).includes('p2') ? true : undefined), 20_000);
    expect(lines(observer.out()).filter((l) => !l.startsWith('office/'))).toEqual(['p1', 'p2']);
    for (const r of [b, observer]) r.proc.kill('SIGINT');
    await Promise.all([b.exited, observer.exited]);
  });

  test("etcd3's lock(): held by one at a time, free again on release", async () => {
    const client = etcd();
    const first = await client.lock('etcd3-mutex').ttl(5).acquire();
    await expect(client.lock('etcd3-mutex').ttl(5).acquire()).rejects.toThrow(EtcdLockFailedError);
    await first.release();
    const second = await client.lock('etcd3-mutex').ttl(5).acquire();
    expect(await second.leaseId()).not.toBeNull();
    await second.release();
    expect(await client.lock('etcd3-mutex').do(() => 'ran')).toBe('ran');
  });

  test("etcd3's election(): campaign, observe, resign, the next campaigner wins", async () => {
    const client = etcd();
    const election = client.election('etcd3-office', 5);
    const one = await election.campaign('one').wait();
    expect(await election.leader()).toBe('one');
    const observer = await election.observe();
    const seen: (string | undefined)[] = [];
    observer.on('change', (v) => seen.push(v));
    const two = election.campaign('two');
    const twoElected = new Promise<void>((resolve) => two.on('elected', () => resolve()));
    await sleep(1000);
    expect(await election.leader()).toBe('one');
    await one.resign();
    await twoElected;
    expect(await election.leader()).toBe('two');
    await waitFor('the observer to see two', () => (seen.includes('two') ? true : undefined), 20_000);
    await observer.cancel();
    await two.resign();
  });
});
