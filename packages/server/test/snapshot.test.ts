// Snapshots and log compaction on a real 3-node cluster with a low --snapshot-entries: a follower that
// was down while the leader compacted its log catches up through Raft/InstallSnapshot, and every node
// restarts from its snapshot plus the log tail after it.
import { waitFor } from '@raftkv/testkit';
import { TestCluster } from './harness.js';
import { converged, writeMany } from './snapshot-fixtures.js';

const SNAPSHOT_ENTRIES = 300;
const CATCHUP_ENTRIES = 50;

describe('snapshots and log compaction', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({
      extraFlags: ['--snapshot-entries', String(SNAPSHOT_ENTRIES), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES)],
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('a follower that fell behind the compacted log catches up by InstallSnapshot; digests match', async () => {
    const { leader } = await c.waitForLeader();
    const lagging = c.running().find((n) => n.id !== leader)!.id;
    await writeMany(c, leader, 'before', 50);
    await c.stopNode(lagging, 'SIGKILL');
    const acked = await writeMany(c, leader, 'while-down', 4 * SNAPSHOT_ENTRIES);
    // The leader snapshotted and dropped the entries the lagging follower still needs.
    await waitFor('the leader to compact its log', () => (/"message":"snapshot taken"/.test(c.logs(leader)) ? true : undefined));
    c.startNode(lagging);
    const d = await converged(c, leader);
    expect(d.keyCount).toBe(50 + 4 * SNAPSHOT_ENTRIES);
    // Whoever led when the follower came back sent it (leadership may have moved under the load). The
    // sender logs once the follower's answer is back, which may come after the follower applied it.
    await waitFor('a node to log the snapshot sent', () =>
      c.running().some((n) => n.id !== lagging && /"message":"sent a snapshot"/.test(c.logs(n.id))) ? true : undefined,
    );
    expect(c.logs(lagging)).toMatch(/"message":"installed a snapshot from the leader"/);
    // The installed state serves reads, and the follower keeps replicating after the snapshot.
    for (const [k, v] of [...acked].slice(0, 20)) expect((await c.read(lagging, k, true)).value.toString()).toBe(v);
    await c.put(leader, 'after-install', 'yes');
    await waitFor('the follower to apply past the snapshot', async () =>
      (await c.read(lagging, 'after-install', true)).found ? true : undefined,
    );
  });

  test('every node restarts from its snapshot plus the log tail (kill -9 of all)', async () => {
    const { leader } = await c.waitForLeader();
    await writeMany(c, leader, 'tail', 40);
    const before = await converged(c, leader);
    for (const n of c.nodes) await c.stopNode(n.id, 'SIGKILL');
    for (const n of c.nodes) c.startNode(n.id);
    const { leader: again } = await c.waitForLeader();
    for (const n of c.nodes) {
      const started = c
        .logs(n.id)
        .split('\n')
        .filter((l) => l.includes('"message":"raftkv node started"'))
        .at(-1)!;
      const info = JSON.parse(started) as { snapshotIndex: number; firstLogIndex: number; appliedIndex: number };
      expect(info.snapshotIndex).toBeGreaterThan(0);
      expect(info.firstLogIndex).toBeGreaterThan(1);
      expect(info.appliedIndex).toBeGreaterThanOrEqual(info.snapshotIndex);
    }
    const after = await converged(c, again);
    expect(after.digest).toBe(before.digest);
    expect((await c.read(again, 'tail-39')).value.toString()).toMatch(/^v39-/);
  });
});
