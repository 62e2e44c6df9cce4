// --force-new-cluster on a data dir: the entries after the commit index go, one conf-change entry making
// this node the only voter is committed in their place, and a second use changes nothing.
import { removeDir, tempDir } from '@raftkv/testkit';
import type { Entry } from '@raftkv/consensus';
import { ConfChange } from '@raftkv/proto';
import type { Logger } from '../src/observability/logger.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import { forceNewCluster, forcedNewCluster } from '../src/storage/force-new-cluster.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';

const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: Buffer.from(`e${index}`) });

function recordingLogger(): { logger: Logger; warnings: { message: string; meta: Record<string, unknown> }[] } {
  const warnings: { message: string; meta: Record<string, unknown> }[] = [];
  const logger = { warn: (message: string, meta: Record<string, unknown> = {}) => warnings.push({ message, meta }) } as unknown as Logger;
  return { logger, warnings };
}

describe('forceNewCluster', () => {
  let dir: string;
  let db: Db;
  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
    const insert = db.prepare('INSERT INTO members (id, address, voter) VALUES (?, ?, ?)');
    insert.run('a', '127.0.0.1:1', 1);
    insert.run('b', '127.0.0.1:2', 1);
    insert.run('c', '127.0.0.1:3', 0);
  });
  afterEach(() => {
    if (db.open) db.close();
    removeDir(dir);
  });

  test('discards the entries after the commit index and commits a one-member configuration, once', () => {
    const log = new SqliteLogStorage(db);
    log.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 3)]);
    log.setHardState({ term: 3, vote: 'b', commit: 3 });
    const { logger, warnings } = recordingLogger();
    const r = forceNewCluster({ db, log, self: 'a', address: '127.0.0.1:9', logger });
    expect(r).toEqual({ index: 4, term: 3, removed: ['b', 'c'], discarded: 2 });
    expect(log.lastIndex()).toBe(4);
    expect(log.hardState()).toEqual({ term: 3, vote: 'b', commit: 4 });
    const e = log.entries(4, 5, Infinity)[0]!;
    expect(e.type).toBe('conf-change');
    expect(ConfChange.decode(e.data).members).toEqual([{ id: 'a', address: '127.0.0.1:9', voter: true }]);
    expect(warnings.map((w) => w.meta['discardedIndexes'] ?? w.meta['removedMembers'])).toEqual(['4..5', ['b', 'c']]);

    // Durable: a new connection sees the same log and the marker; a second use is a logged no-op.
    db.close();
    db = openDatabase(dir);
    const log2 = new SqliteLogStorage(db);
    expect([log2.lastIndex(), log2.hardState().commit]).toEqual([4, 4]);
    expect(forcedNewCluster(db)).toEqual(r);
    const second = recordingLogger();
    expect(forceNewCluster({ db, log: log2, self: 'a', address: '127.0.0.1:9', logger: second.logger })).toBeNull();
    expect(second.warnings[0]!.message).toContain('ignored');
    expect(log2.lastIndex()).toBe(4);
  });

  test('a committed conf change not yet applied is the membership it starts from', () => {
    const log = new SqliteLogStorage(db);
    const cc = ConfChange.encode({
      type: 0,
      nodeId: 'd',
      address: '',
      members: [
        { id: 'a', address: 'x:1', voter: true },
        { id: 'd', address: 'x:4', voter: true },
      ],
    }).finish();
    log.append([ent(1, 1), { index: 2, term: 1, type: 'conf-change', data: cc }]);
    log.setHardState({ term: 1, vote: '', commit: 2 });
    const r = forceNewCluster({ db, log, self: 'a', address: 'x:1', logger: recordingLogger().logger });
    expect(r?.removed).toEqual(['d']);
    expect(r?.discarded).toBe(0);
  });

  test('refuses a node that is not a member', () => {
    const log = new SqliteLogStorage(db);
    expect(() => forceNewCluster({ db, log, self: 'z', address: 'x:1', logger: recordingLogger().logger })).toThrow(/not a member/);
    expect(forcedNewCluster(db)).toBeNull();
  });
});
