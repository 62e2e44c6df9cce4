// The driver's persistence protocol, on a follower fed by hand: nothing that promises a Ready's
// writes leaves before their fsync; input that arrives during the fsync is stepped into the core and
// forms the next Ready (group commit); a failed fsync stops the node.
import { removeDir, tempDir } from '@raftkv/testkit';
import { RaftNode, type Entry, type Message } from '@raftkv/consensus';
import { openDatabase, type Db } from '../src/storage/db.js';
import { RaftDriver } from '../src/node/driver.js';
import { StorageFailure } from '../src/errors.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';
import { createLogger } from '../src/observability/logger.js';
import { ReadyStore } from '../src/storage/ready-store.js';
import { KvStateMachine } from '../src/storage/state-machine.js';
import { proposeCommand } from '../src/storage/command.js';
import type { SyncDone } from '../src/storage/wal-sync.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

const put = (index: number): Entry => ({
  index,
  term: 1,
  type: 'normal',
  data: proposeCommand({
    command: { $case: 'put', put: { key: `k${index}`, value: Buffer.from(`v${index}`) } },
    clientId: '',
    sequence: 0,
  }),
});

const append = (index: number, entries: Entry[], commit: number): Message => ({
  type: 'append',
  from: 'n2',
  to: 'n1',
  term: 1,
  logTerm: index === 0 ? 0 : 1,
  index,
  entries,
  commit,
  reject: false,
  rejectHint: 0,
  hintTerm: 0,
  context: 0,
});

describe('RaftDriver persistence', () => {
  let dir: string;
  let db: Db;
  let driver: RaftDriver;
  let sm: KvStateMachine;
  let syncs: SyncDone[];
  let sent: Message[];
  let fatal: Error[];

  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
    const log = new SqliteLogStorage(db);
    sm = new KvStateMachine(db);
    const node = new RaftNode(
      {
        id: 'n1',
        peers: ['n1', 'n2', 'n3'],
        electionTimeoutMinMs: 60_000,
        electionTimeoutMaxMs: 120_000,
        random: () => 0.5,
        nowMs: performance.now(), // the driver feeds the core performance.now() before every input
        applied: 0,
      },
      log,
    );
    syncs = [];
    sent = [];
    fatal = [];
    const ctx = { node: 'n1', term: 0, role: 'follower' };
    driver = new RaftDriver({
      id: 'n1',
      node,
      storage: new ReadyStore({ db, wal: { sync: (done) => syncs.push(done) }, log, sm }),
      logger: createLogger(ctx, 'error'),
      logContext: ctx,
      send: (ms) => sent.push(...ms),
      onFatal: (e) => fatal.push(e),
    });
  });
  afterEach(() => {
    driver.stop();
    if (db.open) db.close();
    removeDir(dir);
  });

  test('acknowledges appended entries only after their fsync, and batches what arrives meanwhile', async () => {
    driver.step(append(0, [put(1)], 0));
    await turn();
    expect(syncs).toHaveLength(1);
    expect(sent).toEqual([]); // the acknowledgement waits for the fsync

    // During the fsync: more entries arrive; the core takes them, but no Ready is taken yet.
    driver.step(append(1, [put(2)], 1));
    driver.step(append(2, [put(3)], 1));
    await turn();
    expect(syncs).toHaveLength(1);
    expect(sent).toEqual([]);

    syncs[0]!(null);
    expect(sent.map((m) => [m.type, m.index])).toEqual([['append-response', 1]]);
    // The next Ready (both appends, one fsync) was taken at once.
    expect(syncs).toHaveLength(2);
    expect(sm.appliedIndex()).toBe(1); // committed entry 1 applied in the same transaction
    syncs[1]!(null);
    expect(sent.map((m) => [m.type, m.index])).toEqual([
      ['append-response', 1],
      ['append-response', 2],
      ['append-response', 3],
    ]);
    expect(db.prepare('SELECT COUNT(*) FROM log').pluck().get()).toBe(3);
    expect(fatal).toEqual([]);
  });

  test('a failed fsync stops the node without acknowledging', async () => {
    driver.step(append(0, [put(1)], 0));
    await turn();
    syncs[0]!(new Error('EIO: i/o error, fdatasync'));
    expect(sent).toEqual([]);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toBeInstanceOf(StorageFailure);
    expect(fatal[0]!.message).toMatch(/EIO/);
    driver.step(append(1, [put(2)], 1));
    await turn();
    expect(syncs).toHaveLength(1);
  });
});
