// raftctl's lease commands against a 3-node raftkv, through a follower, side by side with etcdctl 3.4 on
// the same cluster: for each command line both tools must print the same standard output, "Error:"
// lines and exit code. Leases get random ids, so each tool grants its own and the id is named in the
// output; a fresh lease's remaining TTL may differ by the seconds the runs take (slow under load).
import { ensureEtcd, run, type Seen } from './etcdctl-run.js';
import { TestCluster } from '../harness.js';

const available = ensureEtcd();
const maybe = available ? describe : describe.skip;

type Tool = 'etcdctl' | 'raftctl';
const TOOLS: readonly Tool[] = ['etcdctl', 'raftctl'];

maybe('raftctl lease and etcdctl lease on a 3-node raftkv', () => {
  let c: TestCluster;
  let via: string;
  const exec = (tool: Tool, ...args: string[]): Seen => run(tool, via, { args });
  const named = (s: Seen, id: string): Seen => ({
    ...s,
    stdout: s.stdout.replaceAll(id, '<ID>').replace(/remaining\((\d+)s\)/g, (m, n: string) => (Number(n) >= 70 ? 'remaining(>=70s)' : m)),
  });

  beforeAll(async () => {
    c = await TestCluster.start();
    await c.waitForLeader();
    via = c.nodes[1]!.address;
  });
  afterAll(async () => {
    await c.stop();
  });

  test('each command line prints what etcdctl prints', () => {
    const seen: Record<Tool, Seen[]> = { etcdctl: [], raftctl: [] };
    for (const tool of TOOLS) {
      const g = exec(tool, 'lease', 'grant', '100');
      const id = /^lease ([0-9a-f]{16}) granted/.exec(g.stdout)?.[1];
      expect(id).toBeDefined();
      const steps: string[][] = [
        ['put', `--lease=${id}`, `${tool}/a`, '1'],
        ['put', `--lease=${id}`, `${tool}/b`, '2'],
        ['lease', 'timetolive', id!],
        ['lease', 'keep-alive', '--once', id!],
        ['lease', 'keep-alive', '--once', '1234abcd'],
        ['lease', 'timetolive', '1234abcd'],
        ['lease', 'revoke', '1234abcd'],
        ['lease', 'grant', 'abc'],
        ['lease', 'grant', '1'],
        ['lease', 'grant', '9000000001'],
        ['lease', 'revoke', 'xyz'],
        ['lease', 'timetolive'],
        ['lease', 'revoke', id!],
        ['get', '--prefix', `${tool}/`],
        ['lease', 'timetolive', id!],
      ];
      seen[tool].push(named(g, id!));
      for (const s of steps) seen[tool].push(named(exec(tool, ...s), id!));
      // --keys lists the tool's own keys: compared on their names.
      seen[tool].push(named(exec(tool, 'lease', 'timetolive', '--keys', id!), id!));
    }
    const grantOne = /^lease [0-9a-f]{16} granted with TTL\(2s\)\n$/;
    for (const tool of TOOLS) expect(seen[tool][9]!.stdout).toMatch(grantOne);
    for (const tool of TOOLS) seen[tool][9] = { ...seen[tool][9]!, stdout: 'granted with TTL(2s)' };
    expect(seen.raftctl).toEqual(seen.etcdctl);
    expect(seen.raftctl.filter((s) => s.code !== 0).length).toBe(6);
  });

  test('list and a keep-alive that ends when the lease is revoked', async () => {
    const g = exec('raftctl', 'lease', 'grant', '30');
    const id = /^lease ([0-9a-f]{16}) granted/.exec(g.stdout)![1]!;
    for (const tool of TOOLS) expect(exec(tool, 'lease', 'list').stdout).toContain(`\n${id}\n`);
    const { spawn } = await import('node:child_process');
    const { RAFTCTL } = await import('./etcdctl-run.js');
    const p = spawn(process.execPath, [RAFTCTL, '--endpoints', via, 'lease', 'keep-alive', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
    const { waitFor } = await import('@raftkv/testkit');
    await waitFor('the first keep-alive', () => (out.includes('keepalived') ? true : undefined), 15_000);
    expect(exec('etcdctl', 'lease', 'revoke', id).code).toBe(0);
    // The next renewal (a third of the TTL later) finds the lease gone.
    expect(await exited).toBe(0);
    expect(out).toBe(`lease ${id} keepalived with TTL(30)\nlease ${id} expired or revoked.\n`);
  });

  test('raftctl lock: runs a command under the lock; excludes and is excluded by etcdctl lock on the same name', async () => {
    const { spawn } = await import('node:child_process');
    const { RAFTCTL } = await import('./etcdctl-run.js');
    const { waitFor } = await import('@raftkv/testkit');
    const withCmd = exec('raftctl', 'lock', 'both', 'sh', '-c', 'echo "held $ETCD_LOCK_KEY"');
    expect(withCmd.code).toBe(0);
    expect(withCmd.stdout).toMatch(/^held both\/[0-9a-f]+\n$/);
    const holder = spawn(process.execPath, [RAFTCTL, '--endpoints', via, 'lock', 'both'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let held = '';
    holder.stdout.on('data', (b: Buffer) => (held += b.toString()));
    const holderExit = new Promise<number | null>((resolve) => holder.once('exit', resolve));
    await waitFor('raftctl to hold the lock', () => (held.includes('both/') ? true : undefined), 20_000);
    expect(held).toMatch(/^both\/[0-9a-f]+\n\n$/); // the key and its empty value, as etcdctl prints them
    const other = spawn('etcdctl', [`--endpoints=${c.nodes[2]!.address}`, 'lock', 'both'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    let otherOut = '';
    other.stdout.on('data', (b: Buffer) => (otherOut += b.toString()));
    const otherExit = new Promise<number | null>((resolve) => other.once('exit', resolve));
    try {
      await new Promise((r) => setTimeout(r, 2000));
      expect(otherOut).toBe('');
      holder.kill('SIGTERM'); // unlocks
      expect(await holderExit).toBe(0);
      await waitFor('etcdctl to get the lock', () => (otherOut.includes('both/') ? true : undefined), 20_000);
    } finally {
      holder.kill('SIGKILL');
      other.kill('SIGKILL');
      await otherExit;
    }
  });

  test('raftctl elect: campaigns and observes as etcdctl elect does, on the same election', async () => {
    const { spawn } = await import('node:child_process');
    const { RAFTCTL } = await import('./etcdctl-run.js');
    const { waitFor } = await import('@raftkv/testkit');
    const bad = [[], ['e'], ['-l', 'e', 'p'], ['a', 'b', 'c']];
    const errors = (tool: Tool): Seen[] => bad.map((a) => exec(tool, 'elect', ...a));
    expect(errors('raftctl')).toEqual(errors('etcdctl'));
    expect(errors('raftctl').map((s) => s.code)).toEqual([128, 128, 128, 128]); // etcdctl's ExitBadArgs
    const started: { kill(s: NodeJS.Signals): void }[] = [];
    const start = (tool: Tool, at: string, ...args: string[]) => {
      const p =
        tool === 'raftctl'
          ? spawn(process.execPath, [RAFTCTL, '--endpoints', at, 'elect', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
          : spawn('etcdctl', [`--endpoints=${at}`, 'elect', ...args], {
              stdio: ['ignore', 'pipe', 'pipe'],
              env: { ...process.env, ETCDCTL_API: '3' },
            });
      started.push(p);
      const exit = new Promise<number | null>((resolve) => p.once('exit', resolve));
      const h = { out: '', err: '', exit, kill: (s: NodeJS.Signals) => p.kill(s) };
      p.stdout.on('data', (b: Buffer) => (h.out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (h.err += b.toString()));
      return h;
    };
    const lines = (n: number) => (h: { out: string }) => (h.out.split('\n').length > n ? true : undefined);
    try {
      const leader = start('raftctl', via, 'ele', 'one');
      await waitFor('raftctl to be elected', () => lines(2)(leader), 20_000);
      expect(leader.out).toMatch(/^ele\/[0-9a-f]+\none\n$/);
      const watchers = [start('raftctl', via, '-l', 'ele'), start('etcdctl', c.nodes[2]!.address, '-l', 'ele')];
      for (const w of watchers) await waitFor('the observers to see the leader', () => lines(2)(w), 20_000);
      const next = start('etcdctl', c.nodes[2]!.address, 'ele', 'two');
      // Campaigners interrupted while they wait give up (and take their keys away) as etcdctl does.
      const quitters = TOOLS.map((t) => start(t, via, 'ele', 'three'));
      await new Promise((r) => setTimeout(r, 1500));
      expect(next.out).toBe(''); // waits while raftctl leads
      for (const q of quitters) q.kill('SIGINT');
      const quit = await Promise.all(quitters.map(async (q) => [await q.exit, q.out, q.err]));
      expect(quit[1]).toEqual(quit[0]);
      expect(quit[0]).toEqual([1, '', 'Error: context canceled\n']);
      leader.kill('SIGTERM'); // resigns
      expect(await leader.exit).toBe(0);
      await waitFor('etcdctl to be elected', () => lines(2)(next), 20_000);
      expect(next.out).toMatch(/^ele\/[0-9a-f]+\ntwo\n$/);
      for (const w of watchers) await waitFor('the observers to see the next leader', () => lines(4)(w), 20_000);
      // Both observers printed the first leader, then the second: the same lines.
      expect(watchers[0]!.out).toBe(`${leader.out}${next.out}`);
      expect(watchers[1]!.out).toBe(watchers[0]!.out);
      next.kill('SIGTERM');
      expect(await next.exit).toBe(0);
      watchers[0]!.kill('SIGTERM');
      expect(await watchers[0]!.exit).toBe(0);
      expect(exec('etcdctl', 'get', '--prefix', 'ele/').stdout).toBe('');
    } finally {
      for (const p of started) p.kill('SIGKILL');
    }
  });
});
