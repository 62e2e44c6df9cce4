// Backup, restore and disaster recovery on real clusters: a backup file restored into every member of a
// new cluster serves the same keys, revisions, history and digest; `snapshot status` reads good files and
// refuses corrupt or truncated ones; a lost quorum is recovered with --force-new-cluster and grown back.
import { RaftkvClient } from '@raftkv/client';
import { Role } from '@raftkv/proto';
import { removeDir, tempDir, waitFor } from '@raftkv/testkit';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restoredClusterId } from '../src/storage/restore.js';
import { MAIN, TestCluster } from './harness.js';
import { converged, digest, logged } from './snapshot-fixtures.js';
import { haveEtcdctl, RAFTCTL } from './cli/etcdctl-run.js';

const TIMEOUT_MS = 240_000;

const ALL = { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
const work = tempDir('raftkv-backup-test-');
const clusters: TestCluster[] = [];
const clients: RaftkvClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of clusters) await c.stop();
  removeDir(work);
});

const raftctl = (...args: string[]) => spawnSync(process.execPath, [RAFTCTL, ...args], { encoding: 'utf8', timeout: 60_000 });

function clientOf(c: TestCluster): RaftkvClient {
  const client = new RaftkvClient({ endpoints: c.nodes.map((n) => n.address), backoffMs: 100 });
  clients.push(client);
  return client;
}

/** Every key at `revision` (0: the latest) with its revisions and version, as comparable text. */
async function dump(client: RaftkvClient, revision = 0): Promise<string[]> {
  const r = await client.etcd.range({ ...ALL, revision });
  return r.kvs.map((kv) => `${kv.key.toString()}=${kv.value.toString()} c${kv.createRevision} m${kv.modRevision} v${kv.version}`);
}

describe('backup and restore', () => {
  test(
    'a cluster restored from a backup serves every key, revision and the same digest; status checks the file',
    async () => {
      const c = await TestCluster.start();
      clusters.push(c);
      const { leader } = await c.waitForLeader();
      const client = clientOf(c);
      for (let i = 0; i < 40; i++) await client.etcd.put({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) });
      for (let i = 0; i < 10; i++) await client.etcd.put({ key: Buffer.from(`k${i}`), value: Buffer.from(`again${i}`) });
      await client.etcd.deleteRange({ key: Buffer.from('k2'), rangeEnd: Buffer.from('k3') }); // k2, k20..k29
      const mid = (await client.etcd.put({ key: Buffer.from('k2'), value: Buffer.from('back') })).header!.revision;
      await client.etcd.compact({ revision: Number(mid) - 5, physical: true });
      for (let i = 30; i < 35; i++) await client.etcd.deleteRange({ key: Buffer.from(`k${i}`) });
      await client.etcd.put({ key: Buffer.from('last'), value: Buffer.from('x') });
      const latest = await dump(client);
      const atMid = await dump(client, Number(mid));
      const revision = Number((await client.etcd.range({ key: Buffer.from('last') })).header!.revision);
      const before = await converged(c, leader);
      expect(latest.length).toBeGreaterThan(20);

      // raftctl and etcdctl save the same state through the Maintenance.Snapshot stream of any member.
      const file = join(work, 'backup.db');
      const follower = c.nodes.find((n) => n.id !== leader)!;
      const saved = raftctl('--endpoints', follower.address, 'snapshot', 'save', file);
      expect(saved.stdout).toBe(`Snapshot saved at ${file}\n`);
      expect(saved.status).toBe(0);
      expect(existsSync(`${file}.part`)).toBe(false);
      const etcdFile = join(work, 'etcdctl-backup.db');
      if (haveEtcdctl()) {
        const e = spawnSync('etcdctl', ['--endpoints', c.node(leader).address, 'snapshot', 'save', etcdFile], {
          encoding: 'utf8',
          env: { ...process.env, ETCDCTL_API: '3' },
          timeout: 60_000,
        });
        expect(e.stdout).toBe(`Snapshot saved at ${etcdFile}\n`);
        expect(raftctl('snapshot', 'status', etcdFile, '-w', 'json').stdout).toBe(raftctl('snapshot', 'status', file, '-w', 'json').stdout);
      } else console.warn('etcdctl not found: the etcdctl snapshot save case is skipped');

      // status: etcd's columns in each format, the checksum verified.
      const json = raftctl('snapshot', 'status', file, '-w', 'json');
      expect(json.status).toBe(0);
      const st = JSON.parse(json.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
      expect(st.revision).toBe(revision);
      expect(st.totalSize).toBe(statSync(file).size - 32);
      expect(st.totalKey).toBeGreaterThan(latest.length);
      const simple = raftctl('snapshot', 'status', file);
      expect(simple.stdout).toMatch(new RegExp(`^${st.hash.toString(16)}, ${revision}, ${st.totalKey}, \\d+(\\.\\d)? kB\\n$`));
      const table = raftctl('snapshot', 'status', file, '-w', 'table').stdout.split('\n');
      expect(table[1]).toMatch(/^\| +HASH +\| REVISION \| TOTAL KEYS \| TOTAL SIZE \|$/);
      expect(table[3]).toContain(` ${revision} |`);

      // A corrupt file (one byte flipped) and a truncated one are refused, naming what is wrong.
      const bytes = readFileSync(file);
      const corrupt = join(work, 'corrupt.db');
      const flipped = Buffer.from(bytes);
      flipped[flipped.length - 100] = flipped[flipped.length - 100]! ^ 0xff;
      writeFileSync(corrupt, flipped);
      const bad = raftctl('snapshot', 'status', corrupt);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('Error: ');
      expect(bad.stderr).toContain('sha256 checksum mismatch');
      const truncated = join(work, 'truncated.db');
      writeFileSync(truncated, bytes.subarray(0, 4096 + 7));
      const cut = raftctl('snapshot', 'status', truncated);
      expect(cut.status).toBe(1);
      expect(cut.stderr).toContain('sha256 checksum not found');
      expect(raftctl('snapshot', 'status', join(work, 'missing.db')).status).toBe(1);

      // Every member wiped; a new cluster restored from the file on other ports and data dirs.
      await c.stop();
      clusters.splice(clusters.indexOf(c), 1);
      const clusterId = restoredClusterId(bytes.subarray(bytes.length - 32).toString('hex'));
      const r = await TestCluster.create({ extraFlags: ['--cluster-id', clusterId] });
      clusters.push(r);
      for (const n of r.nodes) {
        const out = raftctl('snapshot', 'restore', file, '--data-dir', n.dataDir, '--id', n.id, '--peers', r.peers);
        expect(out.stderr).toContain(`--cluster-id ${clusterId}`);
        expect(out.status).toBe(0);
      }
      // A data dir is never overwritten, and a corrupt file restores nothing.
      const again = raftctl('snapshot', 'restore', file, '--data-dir', r.nodes[0]!.dataDir, '--id', 'n1', '--peers', r.peers);
      expect(again.status).toBe(1);
      expect(again.stderr).toContain('is not empty');
      const empty = join(work, 'empty');
      const refused = raftctl('snapshot', 'restore', corrupt, '--data-dir', empty, '--id', 'n1', '--peers', r.peers);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('checksum mismatch');
      expect(existsSync(join(empty, 'raftkv.db'))).toBe(false);
      // The restored data dir refuses another cluster id.
      const wrong = spawnSync(process.execPath, [MAIN, '--id', 'n1', '--peers', r.peers, '--data-dir', r.nodes[0]!.dataDir], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain(`restored for cluster "${clusterId}"`);

      for (const n of r.nodes) r.startNode(n.id);
      const { leader: l2 } = await r.waitForLeader();
      const restored = clientOf(r);
      expect(await dump(restored)).toEqual(latest);
      expect(await dump(restored, Number(mid))).toEqual(atMid);
      const after = await converged(r, l2);

      // The file etcdctl saved restores too (a one-member cluster is enough to compare).
      if (existsSync(etcdFile)) {
        const one = await TestCluster.create({ size: 1, extraFlags: ['--cluster-id', 'from-etcdctl'] });
        clusters.push(one);
        const n1 = one.nodes[0]!;
        const args = [
          '--data-dir',
          n1.dataDir,
          '--name',
          'n1',
          '--initial-cluster',
          `n1=http://${n1.address}`,
          '--initial-cluster-token',
          'from-etcdctl',
        ];
        const out = raftctl('snapshot', 'restore', etcdFile, ...args);
        expect(out.status).toBe(0);
        one.startNode('n1');
        await one.waitForLeader();
        expect(await dump(clientOf(one))).toEqual(latest);
        expect((await digest(one, 'n1')).digest).toBe(before.digest);
      }
      expect(after.digest).toBe(before.digest);
      for (const n of r.nodes) expect((await digest(r, n.id)).digest).toBe(before.digest);
      // It is a working cluster: it takes writes after the restored revision.
      const put = await restored.etcd.put({ key: Buffer.from('new'), value: Buffer.from('y') });
      expect(Number(put.header!.revision)).toBe(revision + 1);
      await converged(r, l2);
    },
    TIMEOUT_MS,
  );

  test('status refuses a file that is not a snapshot', () => {
    const junk = join(work, 'junk.db');
    writeFileSync(junk, Buffer.alloc(512 * 3 + 32, 7));
    const r = raftctl('snapshot', 'status', junk);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: /);
  });
});

describe('quorum loss', () => {
  test(
    '--force-new-cluster on the survivor keeps every acknowledged write; the cluster grows back to 3',
    async () => {
      let forced = false;
      const c = await TestCluster.start({ nodeFlags: (id) => (forced && id === 'n1' ? ['--force-new-cluster'] : []) });
      clusters.push(c);
      const { leader } = await c.waitForLeader();
      const client = clientOf(c);
      const acked = new Map<string, string>();
      for (let i = 0; i < 60; i++) {
        await client.etcd.put({ key: Buffer.from(`q${i}`), value: Buffer.from(`v${i}`) });
        acked.set(`q${i}`, `v${i}`);
      }
      await client.etcd.deleteRange({ key: Buffer.from('q1') });
      acked.delete('q1');
      const before = await converged(c, leader);

      // Two members gone for good: killed, their data dirs wiped. n1 alone cannot make progress.
      await c.stopNode('n2');
      await c.stopNode('n3');
      removeDir(c.node('n2').dataDir);
      removeDir(c.node('n3').dataDir);
      await c.stopNode('n1');
      forced = true;
      c.startNode('n1');
      await waitFor('n1 leads alone', async () => ((await c.status('n1')).role === Role.ROLE_LEADER ? true : undefined), 60_000);
      const warned = logged(
        c,
        'n1',
        '--force-new-cluster: this node is now the only member of its cluster; add the others back with --join / member add',
      );
      expect(warned).toHaveLength(1);
      expect(warned[0]!['removedMembers']).toEqual(['n2', 'n3']);
      const solo = new RaftkvClient({ endpoints: [c.node('n1').address], backoffMs: 100 });
      clients.push(solo);
      const kvs = await solo.etcd.range(ALL);
      expect(new Map(kvs.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]))).toEqual(acked);
      expect((await digest(c, 'n1')).digest).toBe(before.digest);
      expect((await solo.listMembers()).members.map((m) => m.id)).toEqual(['n1']);
      await solo.etcd.put({ key: Buffer.from('after'), value: Buffer.from('1') });

      // Grown back with two new members that join; every member ends with the same state.
      await c.addNode('n4', ['n1']);
      await c.addNode('n5', ['n1']);
      await waitFor(
        'three voters',
        async () => {
          const m = await solo.listMembers();
          return m.members.filter((x) => x.voter).length === 3 ? m : undefined;
        },
        120_000,
      );
      await converged(c, 'n1');

      // The flag left in place: a restart changes nothing and says so.
      await c.stopNode('n1', 'SIGTERM');
      c.startNode('n1');
      await c.waitForLeader(60_000);
      expect(
        logged(c, 'n1', '--force-new-cluster ignored: this data dir was already forced into a new cluster; remove the flag'),
      ).toHaveLength(1);
      const members = await solo.listMembers();
      expect(members.members.map((m) => m.id).sort()).toEqual(['n1', 'n4', 'n5']);
      const final = await converged(c, (await c.waitForLeader()).leader);
      expect(final.keyCount).toBe(acked.size + 1);
    },
    TIMEOUT_MS,
  );
});
