// etcd's Watch on a 3-node raftkv, through etcdctl 3.4 and raftctl: watches served by followers from
// their own applied state, --rev replay, --prev-kv, a compacted start revision, a watcher whose node
// is killed resuming on another node after its last revision, and a watcher on a follower that falls
// so far behind that it is sent a snapshot, catching up from the installed store. Every stream must be
// exactly the writes of its range in revision order: nothing missing, nothing twice.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { RaftkvClient } from '@raftkv/client';
import { track, waitFor } from '@raftkv/testkit';
import { RAFTCTL, ensureEtcd } from './cli/etcdctl-run.js';
import { TestCluster } from './harness.js';

const available = ensureEtcd();
if (!available) console.warn('etcd-watch-cluster.test: etcdctl 3.4 is not installed and cannot be; skipping');
const maybe = available ? describe : describe.skip;

const ENV = { ...process.env, ETCDCTL_API: '3' };

/** A long-running watch command and everything it printed so far. */
class Watch {
  out = '';
  err = '';
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(tool: 'etcdctl' | 'raftctl', endpoints: readonly string[], args: readonly string[]) {
    const [cmd, pre] = tool === 'etcdctl' ? ['etcdctl', []] : [process.execPath, [RAFTCTL]];
    this.proc = track(
      spawn(cmd, [...pre, '--endpoints', endpoints.join(','), 'watch', ...args], { env: ENV, stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    this.proc.stdout!.on('data', (b: Buffer) => (this.out += b.toString('latin1')));
    this.proc.stderr!.on('data', (b: Buffer) => (this.err += b.toString('latin1')));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  /** Waits until the output holds `n` lines. */
  async lines(n: number, timeoutMs = 60_000): Promise<string[]> {
    await until(`${n} lines of watch output`, () => this.out.split('\n').length - 1 >= n, timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}; have:\n${this.out}\n${this.err}`, { cause: e });
    });
    return this.out.split('\n').slice(0, -1);
  }

  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

/** etcdctl's simple output of events: PUT/DELETE, [prev key, prev value], key, value. */
const simple = (events: [string, string, string, string?][]): string[] =>
  events.flatMap(([type, key, value, prev]) => [type, ...(prev === undefined ? [] : [key, prev]), key, value]);

maybe('etcd Watch on a 3-node raftkv', () => {
  let c: TestCluster;
  let client: RaftkvClient;
  const watches: Watch[] = [];
  let leader = '';
  const followers = (): string[] => c.nodes.filter((n) => n.id !== leader && n.proc !== null).map((n) => n.address);
  const put = (key: string, value: string): Promise<number> =>
    retried(() => client.etcd.put({ key: Buffer.from(key), value: Buffer.from(value) }));
  const del = async (key: string): Promise<number> => Number((await client.etcd.deleteRange({ key: Buffer.from(key) })).header!.revision);
  const watch = (tool: 'etcdctl' | 'raftctl', endpoints: readonly string[], args: readonly string[]): Watch => {
    const w = new Watch(tool, endpoints, args);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    c = await TestCluster.start({ extraFlags: ['--snapshot-entries', '60', '--snapshot-catchup-entries', '10'] });
    leader = (await c.waitForLeader()).leader;
    client = new RaftkvClient({ endpoints: c.nodes.map((n) => n.address), timeoutMs: 20_000 });
  }, 120_000);

  afterAll(async () => {
    for (const w of watches) w.stop();
    client?.close();
    await c?.stop();
  });

  test('etcdctl on a follower: live events with --prev-kv, then --rev replays the same history on another follower', async () => {
    const start = (await put('other', 'x')) + 1;
    const [f1, f2] = followers();
    const live = watch('etcdctl', [f1!], ['--prefix', 'w/', '--prev-kv', '--rev', String(start)]);
    await put('w/a', '1');
    await put('w/b', '2');
    await put('w/a', '3');
    await put('other', 'y');
    await del('w/b');
    const want = simple([
      ['PUT', 'w/a', '1'],
      ['PUT', 'w/b', '2'],
      ['PUT', 'w/a', '3', '1'],
      ['DELETE', 'w/b', '', '2'],
    ]);
    expect(await live.lines(want.length)).toEqual(want);
    const replay = watch('etcdctl', [f2!], ['--prefix', 'w/', '--rev', String(start)]);
    const plain = simple([
      ['PUT', 'w/a', '1'],
      ['PUT', 'w/b', '2'],
      ['PUT', 'w/a', '3'],
      ['DELETE', 'w/b', ''],
    ]);
    expect(await replay.lines(plain.length)).toEqual(plain);
    await new Promise((r) => setTimeout(r, 300));
    expect(live.out.split('\n').length - 1).toBe(want.length); // nothing more, nothing twice
  });

  test('a start revision below the compaction is canceled as etcd does it', async () => {
    const rev = await put('c', '1');
    await put('c', '2');
    await client.etcd.compact({ revision: rev + 1 });
    const w = watch('etcdctl', [followers()[0]!], ['c', '--rev', String(rev)]);
    expect(await w.exited).toBe(5);
    expect(w.err).toContain('watch was canceled (etcdserver: mvcc: required revision has been compacted)\n');
    expect(w.err).toContain('Error: watch is canceled by the server');
    const ok = spawnSync('etcdctl', ['--endpoints', followers()[0]!, 'watch', 'c', '--rev', String(rev + 1)], { env: ENV, timeout: 3000 });
    expect(ok.stdout.toString()).toBe('PUT\nc\n2\n');
  });

  test('raftctl resumes on another node after the one serving it is killed: every revision once, in order', async () => {
    const [served, other] = followers();
    const start = (await put('k/0', 'start')) + 1;
    const w = watch('raftctl', [served!, other!], ['--prefix', 'k/', '-w', 'json', '--rev', String(start)]);
    const revs: number[] = [];
    for (let i = 1; i <= 20; i++) revs.push(await put(`k/${i % 3}`, String(i)));
    await w.lines(1);
    await c.stopNode(c.nodes.find((n) => n.address === served)!.id);
    for (let i = 21; i <= 40; i++) revs.push(await put(`k/${i % 3}`, String(i)));
    // Only this test writes now, and only under k/: its watch must see every revision from start on.
    const want = span(start, revs.at(-1)!);
    await until('the events after the kill', () => mods(w.out).length >= want.length, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(mods(w.out)).toEqual(want);
    c.startNode(c.nodes.find((n) => n.address === served)!.id);
  });

  test('a watcher on a follower that is sent a snapshot catches up from the installed store', async () => {
    leader = (await c.waitForLeader()).leader;
    const follower = c.nodes.find((n) => n.id !== leader && n.proc !== null && n.address !== undefined)!;
    const start = (await put('s/0', 'start')) + 1;
    const w = watch('raftctl', [follower.address], ['--prefix', 's/', '-w', 'json', '--rev', String(start)]);
    const revs = [await put('s/1', 'before')];
    await until('the first event', () => mods(w.out).length === 1, 30_000);
    // Writes go through the other nodes: a call sent to the paused one would wait for it.
    const others = new RaftkvClient({ endpoints: c.nodes.filter((n) => n !== follower).map((n) => n.address), timeoutMs: 20_000 });
    const snapshotsTaken = (): number => c.logs(leader).split('"message":"snapshot taken"').length - 1;
    const taken = snapshotsTaken();
    follower.proc!.kill('SIGSTOP');
    try {
      // Large values: the leader's stream to the paused follower fills its flow-control window, so the
      // entries cannot all wait in socket buffers and the follower must be sent a snapshot.
      const pad = 'x'.repeat(8192);
      for (let i = 0; i < 400; i++) {
        revs.push(await retried(() => others.etcd.put({ key: Buffer.from(`s/${i % 5}`), value: Buffer.from(`${i}${pad}`) })));
      }
      // The leader snapshotted (twice since the pause, so past the follower) and dropped the entries it needs.
      await until('the leader to compact its log', () => snapshotsTaken() >= taken + 2, 30_000);
    } finally {
      follower.proc!.kill('SIGCONT');
      others.close();
    }
    await until('the snapshot install', () => c.logs(follower.id).includes('installed a snapshot from the leader'), 60_000).catch(
      (e: Error) => {
        const lines = (id: string) =>
          c
            .logs(id)
            .split('\n')
            .filter((l) => /snapshot|leader|elect/i.test(l))
            .slice(-8)
            .join('\n');
        throw new Error(`${e.message}\nfollower ${follower.id}:\n${lines(follower.id)}\nleader ${leader}:\n${lines(leader)}`, { cause: e });
      },
    );
    revs.push(await put('s/1', 'after'));
    const want = span(start, revs.at(-1)!);
    await until('every event', () => mods(w.out).length >= want.length, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(mods(w.out)).toEqual(want);
  });
});

/**
 * A write's revision, tried again when it failed (an election on the loaded machine): a failed attempt
 * may still have been applied, so the revisions that count are what the store holds, not this list.
 */
async function retried(f: () => Promise<{ header: { revision: bigint } | undefined }>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return Number((await f()).header!.revision);
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
}

/** from..to, both included. */
const span = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const until = (what: string, cond: () => boolean, timeoutMs: number): Promise<true> =>
  waitFor(what, () => (cond() ? true : undefined), timeoutMs);

/** The mod revisions of the events in raftctl/etcdctl -w json output, in order. */
function mods(out: string): number[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => ((JSON.parse(l) as { Events: { kv: { mod_revision: number } }[] | null }).Events ?? []).map((e) => e.kv.mod_revision));
}
