// Leadership transfer (thesis §3.10): Admin.TransferLeadership, and a leader's hand-over on SIGTERM
// so that a rolling restart does not wait an election timeout for a new leader.
import { waitFor } from '@raftkv/testkit';
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { TransferLeadershipResponse } from '@raftkv/proto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SERVER_PKG, TestCluster } from './harness.js';

describe('leadership transfer', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start();
  });
  afterAll(async () => {
    await c?.stop();
  });

  const transfer = (on: string, to: string): Promise<TransferLeadershipResponse> =>
    new Promise((resolve, reject) => {
      c.adminClient(on).transferLeadership({ to }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) =>
        err ? reject(err) : resolve(res!),
      );
    });

  test('Admin.TransferLeadership hands over to the named voter, in the next term', async () => {
    const { leader, term } = await c.waitForLeader();
    const target = c.running().find((n) => n.id !== leader)!.id;
    await c.put(leader, 'before', 'x');
    const res = await transfer(leader, target);
    expect(res).toEqual({ leaderId: target, term: term + 1 });
    const s = await c.status(target);
    expect(s.leaderId).toBe(target);
    await c.put(target, 'after', 'y');
    expect((await c.read(target, 'before')).value.toString()).toBe('x');
  });

  test('a follower refuses to transfer, naming the leader; a non-voter target is INVALID_ARGUMENT', async () => {
    const { leader } = await c.waitForLeader();
    const follower = c.running().find((n) => n.id !== leader)!.id;
    const err = (await transfer(follower, '').catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(grpcStatus.UNAVAILABLE);
    expect(err.details).toContain(leader);
    const bad = (await transfer(leader, 'n9').catch((e: unknown) => e)) as ServiceError;
    expect(bad.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(bad.details).toContain('n9');
  });

  test('raftctl transfer finds the leader among the endpoints and hands over', async () => {
    const { leader } = await c.waitForLeader();
    const endpoints = c
      .running()
      .map((n) => n.address)
      .join(',');
    const out = execFileSync(process.execPath, [join(SERVER_PKG, 'dist', 'cli', 'raftctl.js'), '--endpoints', endpoints, 'transfer'], {
      encoding: 'utf8',
    });
    const m = /^leader is now (\S+) \(term (\d+)\)$/m.exec(out);
    expect(m).not.toBeNull();
    expect(m![1]).not.toBe(leader);
    expect((await c.status(m![1]!)).leaderId).toBe(m![1]);
  });

  test('SIGTERM of the leader hands leadership over before the process exits', async () => {
    const { leader, term } = await c.waitForLeader();
    const res = await c.stopNode(leader, 'SIGTERM');
    expect(res).toEqual({ code: 0, signal: null });
    expect(c.logs(leader)).toMatch(/handed leadership over before stopping/);
    // The new leader took over by TimeoutNow, in the very next term, not after an election timeout.
    const next = await waitFor('a new leader', async () => {
      const ss = await Promise.all(c.running().map((n) => c.status(n.id).catch(() => undefined)));
      return ss.find((s) => s?.leaderId && s.leaderId !== leader && s.term === term + 1);
    });
    expect(next.leaderId).not.toBe(leader);
  });
});
