// Snapshot size triggers and InstallSnapshot transfers of multi-megabyte states on real 3-node
// clusters: the --snapshot-bytes trigger compacts a log of a few big entries; a state of ~10 MiB
// reaches a lagging follower in many chunks; and a transfer cut short by a kill -9 of the receiver or
// of the sending leader leaves no partial snapshot behind, installs nothing partial, and is started
// over (by whoever leads) until the follower is up to date. --snapshot-chunk-delay-ms (a test knob)
// slows the sender so the tests can interrupt a transfer in the middle.
import { waitFor } from '@raftkv/testkit';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster } from './harness.js';
import { converged, logged, snapshotDir, writeMany } from './snapshot-fixtures.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const VALUE_BYTES = 64 * KIB;
/** Few entries, many bytes: the entries trigger is out of reach, only --snapshot-bytes can fire. */
const FLAGS = ['--snapshot-entries', '100000', '--snapshot-catchup-entries', '1000', '--snapshot-bytes', '2Mi'];
/**
 * The tail a compaction keeps is at most --snapshot-bytes: 2 MiB of 64 KiB values, plus the few entries
 * of no size the cluster adds on its own (a new leader's empty entry, cluster version, member attributes).
 */
const MAX_TAIL_ENTRIES = (2 * MIB) / VALUE_BYTES + 4;

const num = (v: unknown): number => v as number;
const lastSnapshotTaken = (c: TestCluster, id: string) => logged(c, id, 'snapshot taken').at(-1);
const lastStart = (c: TestCluster, id: string) => logged(c, id, 'raftkv node started').at(-1)!;

/**
 * Waits until every running node took a snapshot of at least `bytes` and compacted its log past
 * `lastIndex`: a node whose log ends there can only catch up by InstallSnapshot.
 */
async function everyoneCompactedPast(c: TestCluster, lastIndex: number, bytes: number): Promise<void> {
  await waitFor(
    `every running node to take a snapshot of ${bytes} bytes and compact its log past ${lastIndex}`,
    () =>
      c
        .running()
        .every(
          (n) => num(lastSnapshotTaken(c, n.id)?.bytes ?? 0) >= bytes && num(lastSnapshotTaken(c, n.id)!.firstLogIndex) > lastIndex + 1,
        )
        ? true
        : undefined,
    60_000,
  );
}

/**
 * Kills a follower (-9), writes `n` values of VALUE_BYTES under `prefix` while it is down, and waits
 * until every running node compacted its log past the follower's (with a snapshot of `minBytes` or more).
 */
async function fallBehind(c: TestCluster, prefix: string, n: number, minBytes: number): Promise<{ leader: string; lagging: string }> {
  const { leader } = await c.waitForLeader();
  const lagging = c.running().find((x) => x.id !== leader)!.id;
  const last = (await c.status(lagging)).lastLogIndex;
  await c.stopNode(lagging, 'SIGKILL');
  await writeMany(c, leader, prefix, n, { valueBytes: VALUE_BYTES, inFlight: 8 });
  await everyoneCompactedPast(c, last, minBytes);
  return { leader, lagging };
}

/** A partial snapshot being received by `id` (the receiver's temp file), once it holds `atLeast` bytes. */
function partialReceive(c: TestCluster, id: string, atLeast: number): string | undefined {
  for (const [f, size] of snapshotDir(c, id))
    if (f.startsWith('recv-') && f.endsWith('.tmp') && size >= atLeast) return join(c.node(id).dataDir, 'snapshots', f);
  return undefined;
}

/** What a node's snapshot directory may hold once it is idle: its current snapshot only. */
function expectOnlySnapshots(c: TestCluster, id: string): void {
  const names = [...snapshotDir(c, id).keys()];
  expect(names.filter((f) => !/^snap-\d+-\d+\.db$/.test(f))).toEqual([]);
  expect(names.length).toBeLessThanOrEqual(1);
}

describe('--snapshot-bytes and multi-megabyte InstallSnapshot', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ extraFlags: FLAGS });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('a small --snapshot-bytes compacts a log of a few big entries', async () => {
    const { leader } = await c.waitForLeader();
    await writeMany(c, leader, 'few', 48, { valueBytes: VALUE_BYTES, inFlight: 8 }); // 3 MiB in 48 entries
    await converged(c, leader);
    await waitFor('every node to snapshot on bytes', () =>
      c.nodes.every((n) => lastSnapshotTaken(c, n.id) !== undefined) ? true : undefined,
    );
    for (const n of c.nodes) {
      const s = lastSnapshotTaken(c, n.id)!;
      expect(s.trigger).toBe('bytes');
      expect(num(s.entries)).toBeLessThan(100);
      expect(num(s.logBytes)).toBeGreaterThanOrEqual(2 * MIB);
      // Compacted, keeping at most --snapshot-bytes of tail although --snapshot-catchup-entries is 1000.
      expect(num(s.firstLogIndex)).toBeGreaterThan(1);
      expect(num(s.index) - num(s.firstLogIndex) + 1).toBeLessThanOrEqual(MAX_TAIL_ENTRIES);
    }
  });

  test('a state of 8+ MiB reaches a lagging follower in many chunks; digests match', async () => {
    const { lagging } = await fallBehind(c, 'big', 128, 8 * MIB); // 8 MiB more
    c.startNode(lagging);
    const { leader: now } = await c.waitForLeader();
    const d = await converged(c, now);
    expect(d.keyCount).toBe(48 + 128);
    const received = logged(c, lagging, 'received a snapshot');
    expect(received).toHaveLength(1);
    const r = received[0]!;
    expect(num(r.bytes)).toBeGreaterThanOrEqual(8 * MIB);
    expect(num(r.chunks)).toBeGreaterThanOrEqual(8);
    // (The leader logs it once the follower's answer is back, which may be after the follower installed it.)
    const sent = await waitFor('the leader to log the snapshot it sent', () => {
      const s = c.nodes.flatMap((n) => (n.id === lagging ? [] : logged(c, n.id, 'sent a snapshot').filter((l) => l.to === lagging)));
      return s.length > 0 ? s : undefined;
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.bytes).toBe(r.bytes);
    expect(sent[0]!.chunks).toBe(r.chunks);
    const installed = logged(c, lagging, 'installed a snapshot from the leader');
    expect(installed).toHaveLength(1);
    console.log(
      `InstallSnapshot of ${(num(r.bytes) / MIB).toFixed(1)} MiB in ${num(r.chunks)} chunks: sent in ${num(sent[0]!.ms)} ms, installed in ${num(installed[0]!.ms)} ms`,
    );
    expectOnlySnapshots(c, lagging);
  });
});

describe('interrupted InstallSnapshot transfers', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ extraFlags: [...FLAGS, '--snapshot-chunk-delay-ms', '250'] });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('a receiver killed -9 mid-transfer keeps and installs nothing partial, and catches up when restarted', async () => {
    await writeMany(c, (await c.waitForLeader()).leader, 'small', 10);
    const { lagging } = await fallBehind(c, 'big', 96, 4 * MIB); // 6 MiB
    c.startNode(lagging);
    const partial = await waitFor(
      'the follower to be part way through receiving a snapshot',
      () => partialReceive(c, lagging, MIB),
      30_000,
    );
    await c.stopNode(lagging, 'SIGKILL');
    expect(existsSync(partial)).toBe(true); // the kill left it behind
    expect(logged(c, lagging, 'received a snapshot')).toEqual([]);
    c.startNode(lagging);
    await waitFor('the restarted follower to start', () => (logged(c, lagging, 'raftkv node started').length === 3 ? true : undefined));
    expect(existsSync(partial)).toBe(false); // removed at start
    expect(lastStart(c, lagging).snapshotIndex).toBe(0); // nothing partial was installed
    const { leader: now } = await c.waitForLeader();
    const d = await converged(c, now);
    expect(d.keyCount).toBe(10 + 96);
    expect(logged(c, lagging, 'installed a snapshot from the leader')).toHaveLength(1);
    expectOnlySnapshots(c, lagging);
  });

  test('a leader killed mid-transfer: the next leader brings the follower up to date', async () => {
    const { lagging } = await fallBehind(c, 'more', 64, 8 * MIB); // 4 MiB more
    const installedBefore = logged(c, lagging, 'installed a snapshot from the leader').length;
    c.startNode(lagging);
    const partial = await waitFor(
      'the follower to be part way through receiving a snapshot',
      () => partialReceive(c, lagging, MIB),
      30_000,
    );
    const sender = (await c.status(lagging)).leaderId;
    expect(logged(c, sender, 'sending a snapshot').at(-1)?.to).toBe(lagging);
    await c.stopNode(sender, 'SIGKILL');
    // The receiver drops the cut-off transfer at once.
    await waitFor('the partial snapshot to be removed', () => (existsSync(partial) ? undefined : true), 10_000);
    const { leader: next } = await c.waitForLeader();
    expect(next).not.toBe(sender);
    expect(next).not.toBe(lagging); // (it cannot win: its log is behind)
    const d = await converged(c, next);
    expect(d.keyCount).toBe(10 + 96 + 64);
    // (The leader logs it once the follower's answer is back, which may be after the follower installed it.)
    await waitFor('the new leader to log the snapshot it sent', () =>
      logged(c, next, 'sent a snapshot').some((l) => l.to === lagging) ? true : undefined,
    );
    expect(logged(c, lagging, 'installed a snapshot from the leader')).toHaveLength(installedBefore + 1);
    expectOnlySnapshots(c, lagging);
    // The old leader rejoins; all three agree.
    c.startNode(sender);
    const all = await converged(c, next);
    expect(all.digest).toBe(d.digest);
  });
});
