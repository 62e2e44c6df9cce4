// The driver's persistence protocol, on a follower fed by hand: nothing that promises a Ready's
// writes leaves before their fsync; input that arrives during the fsync is stepped into the core and
// forms the next Ready (group commit); a failed fsync stops the node. A snapshot install (off the event
// loop) holds its Ready and every later one the same way, and a failed install stops the node too.
import { removeDir, tempDir } from '@raftkv/testkit';
import { RaftNode, type Entry, type Message, type SnapshotMeta } from '@raftkv/consensus';
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

const SNAP: SnapshotMeta = { index: 10, term: 1, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } };
const snapshotMessage: Message = { ...append(0, [], 10), type: 'snapshot', index: SNAP.index, logTerm: SNAP.term, snapshot: SNAP };

/** An install the test finishes (or fails) by hand. */
interface PendingInstall {
  readonly meta: SnapshotMeta;
  finish(): void;
  fail(e: Error): void;
}

describe('RaftDriver persistence', () => {
  let dir: string;
  let db: Db;
  let driver: RaftDriver;
  let sm: KvStateMachine;
  let syncs: SyncDone[];
  let sent: Message[];
  let fatal: Error[];
  let installs: PendingInstall[];

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
    installs = [];
    // What the install worker leaves in the database, done when the test finishes the install.
    const install = (meta: SnapshotMeta): void => {
      db.prepare('UPDATE meta SET applied_index = ?, applied_term = ? WHERE id = 0').run(meta.index, meta.term);
      log.reset(meta.index, meta.term);
      sm.reload();
    };
    const installSnapshot = (meta: SnapshotMeta): Promise<void> =>
      new Promise((resolve, reject) => installs.push({ meta, finish: () => resolve(install(meta)), fail: reject }));
    const ctx = { node: 'n1', term: 0, role: 'follower' };
    driver = new RaftDriver({
      id: 'n1',
      node,
      storage: new ReadyStore({ db, wal: { sync: (done) => syncs.push(done) }, log, sm, installSnapshot }),
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

  test('during a slow fsync, heartbeats are answered at once while the acknowledgement waits for it', async () => {
    const heartbeat: Message = { ...append(0, [], 0), type: 'heartbeat', logTerm: 0 };
    driver.step(append(0, [put(1)], 0));
    await turn();
    driver.step(heartbeat); // the term is not durable yet (this Ready raises it): the answer waits
    await turn();
    expect(sent).toEqual([]);
    syncs[0]!(null);
    expect(sent.map((m) => m.type)).toEqual(['append-response', 'heartbeat-response']);

    driver.step(append(1, [put(2)], 1));
    await turn();
    expect(syncs).toHaveLength(2);
    for (let i = 0; i < 3; i++) {
      driver.step(heartbeat);
      await turn();
    }
    expect(sent.map((m) => m.type).slice(2)).toEqual(['heartbeat-response', 'heartbeat-response', 'heartbeat-response']);
    syncs[1]!(null);
    expect(sent.map((m) => [m.type, m.index]).slice(5)).toEqual([['append-response', 2]]);
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

  test('a snapshot install holds its Ready and what arrives meanwhile; the rest of the Ready follows once it is done', async () => {
    driver.step(snapshotMessage);
    await turn();
    expect(installs.map((i) => i.meta)).toEqual([SNAP]);
    expect(syncs).toHaveLength(0);
    // During the install: entries after the snapshot arrive; the core takes them, no Ready is taken.
    driver.step(append(10, [put(11)], 10));
    await turn();
    expect(syncs).toHaveLength(0);
    expect(sent).toEqual([]);

    installs[0]!.finish();
    await turn();
    expect(sm.appliedIndex()).toBe(10);
    expect(syncs).toHaveLength(1); // the rest of the snapshot's Ready: its hard state, made durable
    expect(sent).toEqual([]);
    syncs[0]!(null);
    expect(sent.map((m) => [m.type, m.index])).toEqual([['append-response', 10]]);
    expect(syncs).toHaveLength(2); // then the append that waited
    syncs[1]!(null);
    expect(sent.map((m) => [m.type, m.index])).toEqual([
      ['append-response', 10],
      ['append-response', 11],
    ]);
    expect(installs).toHaveLength(1);
    expect(fatal).toEqual([]);
  });

  test('a failed snapshot install stops the node without acknowledging', async () => {
    driver.step(snapshotMessage);
    await turn();
    installs[0]!.fail(new Error('SQLITE_FULL: database or disk is full'));
    await turn();
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toBeInstanceOf(StorageFailure);
    expect(fatal[0]!.message).toMatch(/could not install snapshot 10: SQLITE_FULL/);
    expect((fatal[0] as StorageFailure).cause).toBeInstanceOf(Error);
    expect(sent).toEqual([]);
    expect(syncs).toHaveLength(0);
  });
});
