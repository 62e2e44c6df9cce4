// Admission control in the driver: a leader holding too many unanswered proposals (by count or bytes)
// refuses more with etcd's "too many requests" (RESOURCE_EXHAUSTED) before they enter the log, always
// admits one however large, and admits again once answers drain the queue.
import { status } from '@grpc/grpc-js';
import { RaftNode } from '@raftkv/consensus';
import { removeDir, tempDir, waitFor } from '@raftkv/testkit';
import { TooManyRequestsError } from '../src/errors.js';
import { RaftDriver, type ProposalLimits } from '../src/node/driver.js';
import { createLogger } from '../src/observability/logger.js';
import { proposeCommand } from '../src/storage/command.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';
import { ReadyStore } from '../src/storage/ready-store.js';
import { KvStateMachine } from '../src/storage/state-machine.js';
import type { SyncDone } from '../src/storage/wal-sync.js';

const putOf = (key: string, bytes = 8): Uint8Array =>
  proposeCommand({ command: { $case: 'put', put: { key, value: Buffer.alloc(bytes, 0x61) } }, clientId: '', sequence: 0 });

describe('proposal admission on a single-node leader', () => {
  let dir: string;
  let db: Db;
  let driver: RaftDriver;
  let hold = false;
  const held: SyncDone[] = [];

  const start = async (limits: ProposalLimits): Promise<void> => {
    dir = tempDir();
    db = openDatabase(dir);
    const log = new SqliteLogStorage(db);
    const sm = new KvStateMachine(db);
    const node = new RaftNode(
      {
        id: 'n1',
        peers: ['n1'],
        electionTimeoutMinMs: 100,
        electionTimeoutMaxMs: 200,
        heartbeatIntervalMs: 20,
        random: () => 0.5,
        nowMs: performance.now(),
        applied: 0,
      },
      log,
    );
    const ctx = { node: 'n1', term: 0, role: 'follower' };
    const wal = { sync: (done: SyncDone) => (hold ? held.push(done) : setImmediate(() => done(null))) };
    driver = new RaftDriver({
      id: 'n1',
      node,
      storage: new ReadyStore({ db, wal, log, sm }),
      logger: createLogger(ctx, 'error'),
      logContext: ctx,
      send: () => undefined,
      onFatal: () => undefined,
      limits,
    });
    driver.start();
    await waitFor('leader', () => (driver.isLeader ? true : undefined), 10_000, 10);
    await driver.propose(putOf('warm')); // the leader's first entry is committed: the loop is settled
  };
  const release = (): void => {
    hold = false;
    for (const d of held.splice(0)) d(null);
  };

  afterEach(() => {
    release();
    driver.stop();
    if (db.open) db.close();
    removeDir(dir);
  });

  test('refuses past the pending count, then admits again once answers drain', async () => {
    await start({ maxPending: 3, maxPendingBytes: 1 << 20, maxApplyLag: 5000 });
    hold = true;
    const admitted = [driver.propose(putOf('a')), driver.propose(putOf('b')), driver.propose(putOf('c'))];
    const refused = await driver.propose(putOf('d')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TooManyRequestsError);
    expect(refused).toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' });
    release();
    await Promise.all(admitted);
    await expect(driver.propose(putOf('e'))).resolves.toMatchObject({ $case: 'propose' });
  });

  test('refuses past the pending bytes, but always admits one proposal however large', async () => {
    await start({ maxPending: 1000, maxPendingBytes: 1000, maxApplyLag: 5000 });
    hold = true;
    const big = driver.propose(putOf('big', 4000)); // alone: admitted although over the byte bound
    await expect(driver.propose(putOf('small'))).rejects.toBeInstanceOf(TooManyRequestsError);
    release();
    await expect(big).resolves.toMatchObject({ $case: 'propose' });
    await expect(driver.propose(putOf('small'))).resolves.toMatchObject({ $case: 'propose' });
  });
});
