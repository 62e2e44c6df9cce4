// The driver's clock: the core is woken at its own deadlines (no fixed-rate tick), and a follower
// whose leader's connection closed campaigns well before its election timeout.
import { removeDir, tempDir } from '@raftkv/testkit';
import { RaftNode, type Message } from '@raftkv/consensus';
import { performance } from 'node:perf_hooks';
import { openDatabase, type Db } from '../src/storage/db.js';
import { RaftDriver } from '../src/node/driver.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';
import { createLogger } from '../src/observability/logger.js';
import { ReadyStore } from '../src/storage/ready-store.js';
import { KvStateMachine } from '../src/storage/state-machine.js';
import { msg } from './observability/fixtures.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const heartbeat: Message = msg('heartbeat', 'n1', { from: 'n2', term: 1 });

describe('RaftDriver clock', () => {
  let dir: string;
  let db: Db;
  let node: RaftNode;
  let driver: RaftDriver;
  let sent: Message[];

  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
    const log = new SqliteLogStorage(db);
    const sm = new KvStateMachine(db);
    // Election timeouts of 1.5-3 s: long enough that only the connection signal can explain an early campaign.
    node = new RaftNode(
      {
        id: 'n1',
        peers: ['n1', 'n2', 'n3'],
        electionTimeoutMinMs: 1500,
        electionTimeoutMaxMs: 3000,
        heartbeatIntervalMs: 500,
        random: () => 0.5,
        nowMs: performance.now(),
      },
      log,
    );
    sent = [];
    const ctx = { node: 'n1', term: 0, role: 'follower' };
    driver = new RaftDriver({
      id: 'n1',
      node,
      storage: new ReadyStore({ db, wal: { sync: (done) => done(null) }, log, sm }),
      logger: createLogger(ctx, 'error'),
      logContext: ctx,
      send: (ms) => sent.push(...ms),
      onFatal: (e) => {
        throw e;
      },
    });
    driver.start();
  });
  afterEach(() => {
    driver.stop();
    if (db.open) db.close();
    removeDir(dir);
  });

  test("the leader's connection closed: a PreVote within a fraction of the election timeout", async () => {
    driver.step(heartbeat);
    await sleep(50);
    expect(driver.leaderId).toBe('n2');
    driver.peerLost('n3'); // not the leader: nothing changes
    await sleep(100);
    expect(sent.some((m) => m.type === 'pre-vote')).toBe(false);
    driver.peerLost('n2');
    // Rank 0 of {n1, n3}: about 125 ms; the election timeout runs out 1.5 s after the heartbeat at the earliest.
    await sleep(800);
    const preVotes = sent.filter((m) => m.type === 'pre-vote');
    expect(preVotes.map((m) => m.to).sort()).toEqual(['n2', 'n3']);
  });

  test('without the signal the timer still fires at the election deadline, not before', async () => {
    driver.step(heartbeat);
    const at = performance.now();
    await sleep(1000);
    expect(sent.some((m) => m.type === 'pre-vote')).toBe(false);
    const due = node.nextDeadline();
    expect(due).toBeGreaterThanOrEqual(at + 1500);
    await sleep(Math.max(0, due - performance.now()) + 300);
    expect(sent.some((m) => m.type === 'pre-vote')).toBe(true);
  });
});
