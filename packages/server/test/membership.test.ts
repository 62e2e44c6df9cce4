// Membership changes on real processes under write load: a 3-node cluster grows to 5 (nodes started
// with --join, added as learners, caught up — by snapshot, the log being compacted meanwhile — and
// promoted), then shrinks back to 3 (the leader removes itself through raftctl, another member
// through a follower's Admin), and no acknowledged write is lost.
import { sleep, waitFor } from '@raftkv/testkit';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Role, type DigestResponse, type ListMembersResponse, type RemoveMemberResponse } from '@raftkv/proto';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { healthCheck, SERVER_PKG, TestCluster, unary } from './harness.js';

const run = promisify(execFile);
const RAFTCTL = join(SERVER_PKG, 'dist', 'cli', 'raftctl.js');

/** Writers that keep putting fresh keys with sessions and retries; every answered put is recorded. */
function writeLoad(c: TestCluster, writers: number): { acked: Map<string, string>; stop: () => Promise<void> } {
  const acked = new Map<string, string>();
  let stopped = false;
  const done = Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 1; !stopped; i++) {
        const key = `w${w}-${i}`;
        const value = `${key}-${'x'.repeat(64)}`;
        const via = c.running()[i % c.running().length]!.id;
        await c.putRetry(via, key, value, { clientId: `load-${w}`, sequence: i }, 60_000);
        acked.set(key, value);
      }
    }),
  );
  return {
    acked,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

describe('membership changes', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ extraFlags: ['--snapshot-entries', '400', '--snapshot-catchup-entries', '100'] });
  });
  afterAll(async () => {
    await c?.stop();
  });

  const members = (id: string): Promise<ListMembersResponse> => {
    const a = c.adminClient(id);
    return unary((md, o, cb) => a.listMembers({}, md, o, cb));
  };
  /** Waits until every running node has applied exactly these voters (and no learner). */
  const votersEverywhere = (ids: string[]): Promise<true> =>
    waitFor(
      `voters ${ids.join(',')} on every running node`,
      async () => {
        for (const n of c.running()) {
          const s = await c.status(n.id);
          const got = s.members.map((m) => `${m.id}${m.voter ? '' : '?'}@${m.address}`).sort();
          const want = ids.map((id) => `${id}@${c.node(id).address}`).sort();
          if (got.join() !== want.join()) return undefined;
        }
        return true;
      },
      90_000,
    );

  test('3 -> 5 -> 3 under write load without losing an acknowledged write', async () => {
    await c.waitForLeader();
    const load = writeLoad(c, 4);
    await waitFor('some writes', () => (load.acked.size > 100 ? true : undefined));

    // Grow: each new node asks the cluster to add it (--join), catches up as a learner, is promoted.
    await c.addNode('n4', ['n1', 'n2', 'n3']);
    await votersEverywhere(['n1', 'n2', 'n3', 'n4']);
    await c.addNode('n5', ['n2']);
    await votersEverywhere(['n1', 'n2', 'n3', 'n4', 'n5']);
    const listed = await run(process.execPath, [RAFTCTL, '--endpoints', c.node('n5').address, 'v1', 'member', 'list']);
    expect(listed.stdout.split('\n').filter((l) => / voter/.test(l))).toHaveLength(5);
    expect(c.logs('n4') + c.logs('n5')).toMatch(/"message":"joined the cluster as a voter"/);

    // Shrink: the leader removes itself (it hands leadership over), then a follower forwards a removal.
    const { leader } = await c.waitForLeader();
    const endpoints = c
      .running()
      .map((n) => n.address)
      .join(',');
    const out = await run(process.execPath, [RAFTCTL, '--endpoints', endpoints, 'member', 'remove', leader]);
    expect(out.stdout).toMatch(new RegExp(`^${leader} is not a member \\(removed at index \\d+\\)`, 'm'));
    // The removed node no longer serves clients: it answers UNAVAILABLE at once and is not Ready.
    const refused = (await c.read(leader, 'w0-1').catch((e: unknown) => e)) as ServiceError;
    expect(refused.code).toBe(grpcStatus.UNAVAILABLE);
    expect(refused.details).toMatch(/removed from the cluster/);
    await waitFor(`${leader} not Ready`, async () =>
      (await healthCheck(c.node(leader).address, 'raftkv.v1.KV')) === 'NOT_SERVING' ? true : undefined,
    );
    // It handed leadership over (the others still hear it after applying its removal), rather than
    // leaving them to an election timeout.
    await waitFor(`${leader} to hand over`, async () => ((await c.status(leader)).role !== Role.ROLE_LEADER ? true : undefined));
    expect(c.logs(leader)).toMatch(/"message":"transfer-started"/);
    expect(c.logs(leader)).not.toMatch(/transfer-aborted|no quorum heard/);
    await c.stopNode(leader, 'SIGTERM');
    const second = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const follower = c.running().find((n) => n.id !== second)!.id;
    const admin = c.adminClient(follower);
    const removed = await unary<RemoveMemberResponse>((md, o, cb) => admin.removeMember({ id: second }, md, o, cb), 60_000);
    expect(removed.members.map((m) => m.id)).not.toContain(second);
    await c.stopNode(second, 'SIGTERM');
    const rest = c.running().map((n) => n.id);
    expect(rest).toHaveLength(3);
    await votersEverywhere(rest);
    await sleep(500);
    await load.stop();

    // Every acknowledged write is there, and the three replicas agree.
    const { leader: last } = await c.waitForLeader();
    expect(load.acked.size).toBeGreaterThan(200);
    for (const [k, v] of load.acked) expect((await c.read(last, k)).value.toString()).toBe(v);
    const commit = (await c.status(last)).commitIndex;
    await waitFor('equal digests on the remaining members', async () => {
      const ds = await Promise.all(
        rest.map((id) => {
          const a = c.adminClient(id);
          return unary<DigestResponse>((md, o, cb) => a.digest({}, md, o, cb));
        }),
      );
      return ds.every((d) => d.appliedIndex >= commit) && new Set(ds.map((d) => d.digest)).size === 1 ? true : undefined;
    });
    expect((await members(rest[0]!)).members.map((m) => m.id).sort()).toEqual([...rest].sort());
  });

  test('removing a voter is refused when the voters left could not form a quorum', async () => {
    const { leader } = await c.waitForLeader();
    const [down, other] = c
      .running()
      .map((n) => n.id)
      .filter((id) => id !== leader) as [string, string];
    await c.stopNode(down, 'SIGKILL');
    // (A node that died less than an election timeout ago may still count as answering.)
    await sleep(1000);
    const admin = c.adminClient(leader);
    const err = (await unary((md, o, cb) => admin.removeMember({ id: other }, md, o, cb), 30_000).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(err.details).toMatch(/no quorum/);
    const bad = (await unary((md, o, cb) => admin.addMember({ id: 'n 9', address: 'x', learner: false }, md, o, cb)).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(bad.code).toBe(grpcStatus.INVALID_ARGUMENT);
    // An address that belongs to a member is the cluster's state, not a malformed request (a --join
    // node keeps retrying it: the member may be on its way out).
    const clash = (await unary((md, o, cb) =>
      admin.addMember({ id: 'n9', address: c.node(other).address, learner: false }, md, o, cb),
    ).catch((e: unknown) => e)) as ServiceError;
    expect(clash.code).toBe(grpcStatus.FAILED_PRECONDITION);
    expect(clash.details).toMatch(new RegExp(`already belongs to member ${other}`));
    c.startNode(down);
  });
});
