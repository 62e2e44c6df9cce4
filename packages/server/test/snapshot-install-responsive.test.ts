// Installing a large snapshot does not stall the follower: the copy runs on a worker thread
// (storage/install-worker.ts) while the node's event loop keeps answering. A follower is paused
// (SIGSTOP) while the leader writes tens of MiB and compacts its log past it; resumed, it is sent a
// snapshot, and while it installs it its Status is polled every 50 ms: answers keep coming during the
// install. The synchronous install held the event loop for the whole copy: not one answer came between
// "received a snapshot" and "installed" (the worst gap is printed; how short it is, is a benchmark's
// business — on a loaded CI machine it reached 291 ms of a 406 ms install).
import { waitFor } from '@raftkv/testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestCluster } from './harness.js';
import { converged, logged, writeMany } from './snapshot-fixtures.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const VALUE_BYTES = 64 * KIB;
/** 80 MiB of values: a state whose copy takes long enough to matter (about half a second here). */
const VALUES = 1280;
/** Snapshots every 4 MiB with a short tail, so the leader soon compacts past the paused follower. */
const FLAGS = ['--snapshot-entries', '100000', '--snapshot-catchup-entries', '10', '--snapshot-bytes', '4Mi'];
const POLL_MS = 50;

/** When a node logged `message` (its last such line), on this machine's clock. */
function loggedAt(c: TestCluster, id: string, message: string): number | undefined {
  const line = logged(c, id, message).at(-1);
  return line === undefined ? undefined : Date.parse(line['timestamp'] as string);
}

/** Polls `id`'s Status every POLL_MS until `done()`; returns when each answer arrived (failed calls leave a gap). */
async function pollStatus(c: TestCluster, id: string, done: () => boolean): Promise<number[]> {
  const answers: number[] = [];
  while (!done()) {
    const t0 = Date.now();
    try {
      await c.status(id, 1000);
      answers.push(Date.now());
    } catch {
      // no answer in time: the gap grows until the next one
    }
    await sleep(Math.max(0, POLL_MS - (Date.now() - t0)));
  }
  return answers;
}

/** The longest time without an answer that overlaps [from, to]. */
function worstGap(answers: readonly number[], from: number, to: number): number {
  let worst = 0;
  for (let i = 1; i < answers.length; i++) {
    if (answers[i]! >= from && answers[i - 1]! <= to) worst = Math.max(worst, answers[i]! - answers[i - 1]!);
  }
  return worst;
}

describe('installing a large snapshot', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ extraFlags: FLAGS });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('the follower keeps answering while it installs, and ends with the leader state', async () => {
    const { leader } = await c.waitForLeader();
    await writeMany(c, leader, 'small', 20);
    const lagging = c.nodes.find((n) => n.id !== leader)!;
    const behindAt = (await c.status(lagging.id)).lastLogIndex;
    lagging.proc!.kill('SIGSTOP');
    try {
      await writeMany(c, leader, 'big', VALUES, { valueBytes: VALUE_BYTES, inFlight: 8 });
      await waitFor(
        'the leader to snapshot the big state and compact its log past the paused follower',
        () => {
          const s = logged(c, leader, 'snapshot taken').at(-1);
          return s !== undefined && (s['bytes'] as number) >= 64 * MIB && (s['firstLogIndex'] as number) > behindAt + 1 ? true : undefined;
        },
        120_000,
      );
    } finally {
      lagging.proc?.kill('SIGCONT');
    }

    let installedAt: number | undefined;
    // Polled on a little past the install, so the gap that ends after it is counted too.
    const polling = pollStatus(c, lagging.id, () => installedAt !== undefined && Date.now() > installedAt + 4 * POLL_MS);
    installedAt = await waitFor(
      'the follower to install the snapshot',
      () => loggedAt(c, lagging.id, 'installed a snapshot from the leader'),
      120_000,
    );
    const answers = await polling;
    const receivedAt = loggedAt(c, lagging.id, 'received a snapshot')!;
    const installed = logged(c, lagging.id, 'installed a snapshot from the leader').at(-1)!;
    const gap = worstGap(answers, receivedAt, installedAt);
    const during = answers.filter((t) => t > receivedAt && t < installedAt!).length;
    console.log(
      `snapshot of ${installed['bytes']} bytes installed in ${installed['ms']} ms; ${during} Status answers meanwhile, worst gap ${gap} ms`,
    );
    expect(installed['bytes']).toBeGreaterThanOrEqual(64 * MIB);
    expect(during).toBeGreaterThanOrEqual(2);

    const d = await converged(c, leader);
    expect(d.keyCount).toBe(20 + VALUES);
    expect(new Set((await c.digests()).map((s) => s.split('/')[1])).size).toBe(1);
  });
});
