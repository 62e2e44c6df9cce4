// etcd's Cluster and Maintenance services on a real 3-node cluster, driven by Debian's etcdctl 3.4:
// member list/add (learner)/promote/update/remove with etcd's errors, endpoint status/health/hashkv
// --cluster, move-leader, defrag and snapshot save (a file whose sha256 trailer verifies).
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { etcdctl as runEtcdctl, removeDir, tempDir, waitFor, type EtcdctlRun } from '@raftkv/testkit';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSnapshotMeta } from '../src/storage/snapshot-build.js';
import { SERVER_PKG, TestCluster, unary } from './harness.js';

const RAFTCTL = join(SERVER_PKG, 'dist', 'cli', 'raftctl.js');

type Run = EtcdctlRun;
const etcdctl = (endpoints: readonly string[], ...args: string[]): Promise<Run> => runEtcdctl(endpoints, args, '', '20s');

/** etcdctl's last "Error: ..." line. */
const errorOf = (r: Run): string =>
  r.stderr
    .split('\n')
    .filter((l) => l.startsWith('Error: '))
    .pop() ?? `(no error; stdout ${r.stdout})`;

describe('etcd Cluster and Maintenance services with etcdctl on a 3-node cluster', () => {
  let c: TestCluster;
  let endpoints: string[];
  const dir = tempDir('raftkv-maint-');
  const ok = async (...args: string[]): Promise<string> => {
    const r = await etcdctl(endpoints, ...args);
    if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = async (...args: string[]): Promise<string> => {
    const r = await etcdctl(endpoints, ...args);
    expect(r.status).not.toBe(0);
    return errorOf(r);
  };
  /** member list's simple lines: [id, status, name, peer URLs, client URLs, is learner]. */
  const members = async (): Promise<string[][]> =>
    (await ok('member', 'list'))
      .trim()
      .split('\n')
      .map((l) => l.split(', '));

  beforeAll(async () => {
    c = await TestCluster.start();
    await c.waitForLeader();
    endpoints = c.nodes.map((n) => n.address);
    // Every member has published its name and client URL.
    await waitFor('every member started', async () => ((await members()).every((m) => m[1] === 'started') ? true : undefined), 30_000, 300);
    for (let i = 0; i < 5; i++) await ok('put', `k${i}`, `v${i}`);
  });
  afterAll(async () => {
    await c.stop();
    removeDir(dir);
  });

  test('member list: every member with its name, peer and client URLs, as etcdctl prints them', async () => {
    const list = await members();
    expect(list.map((m) => m[2]).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const m of list) {
      const n = c.node(m[2]!);
      expect(m).toEqual([expect.stringMatching(/^[0-9a-f]+$/), 'started', n.id, `http://${n.address}`, n.address, 'false']);
    }
    const table = await ok('member', 'list', '-w', 'table');
    expect(table).toContain('|       ID       | STATUS  | NAME |       PEER ADDRS       |  CLIENT ADDRS   | IS LEARNER |');
    const json = JSON.parse(await ok('member', 'list', '-w', 'json')) as { members: { name: string; peerURLs: string[] }[] };
    expect(json.members.map((m) => m.name).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  test('endpoint status, health and hashkv with --cluster: one leader, equal hashes', async () => {
    const status = (await ok('endpoint', 'status', '--cluster')).trim().split('\n');
    expect(status).toHaveLength(3);
    // endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors
    const rows = status.map((l) => l.split(', '));
    expect(rows.filter((r) => r[4] === 'true')).toHaveLength(1);
    for (const r of rows) expect(r.slice(2, 3).concat(r.slice(5, 6))).toEqual(['0.3.0', 'false']);
    const health = await etcdctl(endpoints, 'endpoint', 'health', '--cluster');
    expect(health.status).toBe(0);
    expect(health.stderr.match(/is healthy: successfully committed proposal/g)).toHaveLength(3);
    const hashes = (await ok('endpoint', 'hashkv', '--cluster')).trim().split('\n');
    expect(hashes).toHaveLength(3);
    expect(new Set(hashes.map((l) => l.split(', ')[1])).size).toBe(1);
  });

  test('a learner added with member add, started with the printed id, promoted, updated, made leader and removed', async () => {
    const port = await c.freePort();
    const peerUrl = `http://127.0.0.1:${port}`;
    const added = await ok('member', 'add', 'n4', `--peer-urls=${peerUrl}`, '--learner');
    const id = /^Member\s+([0-9a-f]+) added to cluster/.exec(added)?.[1];
    expect(id).toBeDefined();
    expect(added).toContain(`ETCD_INITIAL_ADVERTISE_PEER_URLS="${peerUrl}"`);
    expect(await members()).toContainEqual([id, 'unstarted', '', peerUrl, '', 'true']);
    // etcd's checks, with its messages.
    expect(await fails('member', 'promote', id!)).toBe('Error: etcdserver: can only promote a learner member which is in sync with leader');
    expect(await fails('member', 'add', 'n5', `--peer-urls=http://${c.nodes[0]!.address}`)).toBe(
      'Error: etcdserver: Peer URLs already exists',
    );
    expect(await fails('member', 'add', 'n5', '--peer-urls=http://127.0.0.1:1', '--learner')).toBe(
      'Error: etcdserver: too many learner members in cluster',
    );
    expect(await fails('member', 'remove', 'abc')).toBe('Error: etcdserver: member not found');

    await c.addNode(id!, ['n1', 'n2'], port);
    await waitFor(
      'n4 started',
      async () => ((await members()).some((m) => m[0] === id && m[1] === 'started') ? true : undefined),
      60_000,
      300,
    );
    await waitFor(
      'n4 promoted',
      async () => ((await etcdctl(endpoints, 'member', 'promote', id!)).status === 0 ? true : undefined),
      60_000,
      300,
    );
    expect(await members()).toContainEqual([id, 'started', id, peerUrl, `127.0.0.1:${port}`, 'false']);
    expect(await fails('member', 'promote', id!)).toBe('Error: etcdserver: can only promote a learner member');
    const hashes = (await ok('endpoint', 'hashkv', '--cluster')).trim().split('\n');
    expect(hashes).toHaveLength(4);
    expect(new Set(hashes.map((l) => l.split(', ')[1])).size).toBe(1);

    expect(await fails('member', 'update', id!, `--peer-urls=http://${c.nodes[0]!.address}`)).toBe(
      'Error: etcdserver: Peer URLs already exists',
    );
    expect(await fails('member', 'update', 'abc', '--peer-urls=http://127.0.0.1:2')).toBe('Error: etcdserver: member not found');
    // Same address: accepted, nothing changes.
    expect(await ok('member', 'update', id!, `--peer-urls=${peerUrl}`)).toMatch(new RegExp(`^Member\\s+${id} updated in cluster`));

    const moved = await ok('move-leader', id!);
    expect(moved).toMatch(new RegExp(`^Leadership transferred from [0-9a-f]+ to ${id}`));
    const rows = (await ok('endpoint', 'status', '--cluster'))
      .trim()
      .split('\n')
      .map((l) => l.split(', '));
    expect(rows.find((r) => r[1] === id)?.[4]).toBe('true');

    expect(await ok('member', 'remove', id!)).toMatch(new RegExp(`^Member\\s+${id} removed from cluster`));
    expect((await members()).map((m) => m[2]).sort()).toEqual(['n1', 'n2', 'n3']);
    await c.stopNode(id!);
    await c.waitForLeader();
  });

  test('raftctl prints what etcdctl prints (simple, table, json) for member list, endpoint status/hashkv/health, errors, move-leader', async () => {
    const raftctl = (...args: string[]): Promise<Run> =>
      new Promise((resolve) =>
        execFile(process.execPath, [RAFTCTL, '--endpoints', endpoints.join(','), ...args], (err, stdout, stderr) =>
          resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
        ),
      );
    for (const cmd of [
      ['member', 'list'],
      ['member', 'list', '-w', 'table'],
      ['endpoint', 'status', '--cluster'],
      ['endpoint', 'status', '-w', 'table'],
      ['endpoint', 'hashkv', '--cluster', '-w', 'table'],
      ['endpoint', 'status', '-w', 'json'],
      ['endpoint', 'hashkv', '--cluster', '-w', 'json'],
    ]) {
      // Two runs see the same values unless something moved in between (an election changes a term, a
      // status' raft index moves): the pair is asked again, a few times, before the outputs must agree.
      let [mine, theirs] = [await raftctl(...cmd), await etcdctl(endpoints, ...cmd)];
      for (let i = 0; i < 3 && mine.stdout !== theirs.stdout; i++)
        [mine, theirs] = [await raftctl(...cmd), await etcdctl(endpoints, ...cmd)];
      expect([cmd, mine.status, mine.stdout]).toEqual([cmd, theirs.status, theirs.stdout]);
    }
    const health = await raftctl('endpoint', 'health', '--cluster');
    expect(health.status).toBe(0);
    expect(health.stderr.match(/is healthy: successfully committed proposal: took = [\d.]+(ms|µs|s)\n/g)).toHaveLength(3);
    const promote = await raftctl('member', 'promote', (await members())[0]![0]!);
    expect([promote.status, promote.stderr]).toEqual([1, 'Error: etcdserver: can only promote a learner member\n']);
    const bad = await raftctl('member', 'update', 'zz', '--peer-urls=http://127.0.0.1:9');
    expect([bad.status, bad.stderr]).toEqual([
      128,
      'Error: bad member ID arg (strconv.ParseUint: parsing "zz": invalid syntax), expecting ID in Hex\n',
    ]);
    const { leader } = await c.waitForLeader();
    const leaderId = (await members()).find((m) => m[2] === leader)![0]!;
    const follower = (await members()).find((m) => m[2] !== leader)![0]!;
    expect((await raftctl('move-leader', leaderId)).stdout).toBe(`Leadership transferred from ${leaderId} to ${leaderId}\n`);
    expect((await raftctl('move-leader', follower)).stdout).toBe(`Leadership transferred from ${leaderId} to ${follower}\n`);
    const defrag = await raftctl('defrag');
    expect(defrag.stdout).toBe(endpoints.map((e) => `Finished defragmenting etcd member[${e}]\n`).join(''));
  });

  test('MoveLeader on a follower: etcd\'s "not leader"; to a non-member: "bad leader transferee"', async () => {
    const { leader } = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader && n.proc !== null)!;
    const m = (addr: string) => new etcdserverpb.MaintenanceClient(addr, credentials.createInsecure());
    const err = async (addr: string, targetID: number): Promise<ServiceError> => {
      const client = m(addr);
      try {
        await unary((md, o, cb) => client.moveLeader({ targetID }, md, o, cb), 10_000);
        throw new Error('expected MoveLeader to fail');
      } catch (e) {
        return e as ServiceError;
      } finally {
        client.close();
      }
    };
    const notLeader = await err(follower.address, 1);
    expect([notLeader.code, notLeader.details]).toEqual([status.FAILED_PRECONDITION, 'etcdserver: not leader']);
    const bad = await err(c.node(leader).address, 12345);
    expect([bad.code, bad.details]).toEqual([status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee']);
  });

  test('snapshot save: a SQLite snapshot followed by the sha256 of its bytes', async () => {
    const file = join(dir, 'snap.db');
    const out = await etcdctl([endpoints[0]!], 'snapshot', 'save', file);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(`Snapshot saved at ${file}\n`);
    const bytes = readFileSync(file);
    const body = bytes.subarray(0, bytes.length - 32);
    expect(createHash('sha256').update(body).digest()).toEqual(bytes.subarray(bytes.length - 32));
    expect(body.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const plain = join(dir, 'snap-body.db');
    writeFileSync(plain, body);
    const meta = readSnapshotMeta(plain);
    if (meta instanceof Error) throw meta;
    expect(meta.index).toBeGreaterThan(5);
    expect([...meta.conf.voters].sort()).toEqual(['n1', 'n2', 'n3']);
  });

  test('defrag --cluster, then the data is all there and the hashes still agree', async () => {
    const out = await ok('defrag', '--cluster');
    expect(out.trim().split('\n').sort()).toEqual(endpoints.map((e) => `Finished defragmenting etcd member[${e}]`).sort());
    expect(await ok('get', 'k', '--prefix', '--keys-only')).toBe('k0\n\nk1\n\nk2\n\nk3\n\nk4\n\n');
    const hashes = (await ok('endpoint', 'hashkv', '--cluster')).trim().split('\n');
    expect(new Set(hashes.map((l) => l.split(', ')[1])).size).toBe(1);
  });

  test('with a voter down: adding or removing a voter is refused as etcd refuses it', async () => {
    await c.stopNode('n3');
    await c.waitForLeader();
    const live = endpoints.filter((e) => e !== c.node('n3').address);
    const r = await etcdctl(live, 'member', 'add', 'n6', '--peer-urls=http://127.0.0.1:3');
    expect(errorOf(r)).toBe('Error: etcdserver: re-configuration failed due to not enough started members');
    const n2 = (await members()).find((m) => m[2] === 'n2')![0]!;
    const rm = await etcdctl(live, 'member', 'remove', n2);
    expect(errorOf(rm)).toBe('Error: etcdserver: re-configuration failed due to not enough started members');
    const st = (await etcdctl(live, 'endpoint', 'status', '--cluster')).stderr;
    expect(st).toContain(`Failed to get the status of endpoint ${c.node('n3').address}`);
  });
});
