// The receiving side of InstallSnapshot, in process: the SnapshotReceiver driven by a stand-in for
// the gRPC stream, and the SnapshotStore holding received snapshots until the core installs one.
// Whatever way a transfer ends short of a verified file, nothing reaches the core and no file is left;
// the newest leader's transfer wins; an older snapshot arriving late never costs the newer one.
import { removeDir, tempDir } from '@raftkv/testkit';
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import type { Message, SnapshotMeta } from '@raftkv/consensus';
import type { InstallSnapshotResponse, SnapshotChunk } from '@raftkv/proto';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { messageToWire } from '../src/peer/codec.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';
import { createLogger } from '../src/observability/logger.js';
import { Membership } from '../src/storage/membership.js';
import { buildSnapshot, type BuiltSnapshot } from '../src/storage/snapshot-build.js';
import { SnapshotStore } from '../src/storage/snapshot-store.js';
import { SnapshotReceiver } from '../src/peer/snapshot-transfer.js';

const logger = createLogger({ node: 'n2', term: 0, role: 'follower' }, 'error');
const PEERS = new Map([
  ['n1', '127.0.0.1:1'],
  ['n2', '127.0.0.1:2'],
  ['n3', '127.0.0.1:3'],
]);

/** A node's database with `keys` applied up to `index` of `term`, snapshotted into a file. */
function snapshotOf(
  root: string,
  name: string,
  index: number,
  term: number,
  keys: Record<string, string>,
): BuiltSnapshot & { path: string } {
  const dir = join(root, name);
  const db = openDatabase(dir);
  new Membership(db, 'n1', PEERS.get('n1')!, logger).bootstrap(PEERS);
  for (const [k, v] of Object.entries(keys))
    db.prepare('INSERT INTO mvcc_kv (key, main, sub, create_rev, version, lease, value, tombstone) VALUES (?, 2, 0, 2, 1, 0, ?, 0)').run(
      k,
      Buffer.from(v),
    );
  db.prepare('UPDATE meta SET applied_index = ?, applied_term = ? WHERE id = 0').run(index, term);
  db.close();
  const path = join(root, `${name}.snap`);
  return { ...buildSnapshot(join(dir, 'raftkv.db'), path)!, path };
}

function snapshotMessage(term: number, meta: SnapshotMeta, from = 'n1'): Message {
  return {
    type: 'snapshot',
    from,
    to: 'n2',
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    hintTerm: 0,
    context: 0,
    snapshot: meta,
  };
}

/** Stands in for grpc-js's server stream: the test emits the chunks. */
class FakeCall extends EventEmitter {
  destroyed = false;
  result: { err: { code?: status } | null; res?: InstallSnapshotResponse } | null = null;
  destroy(): void {
    this.destroyed = true;
  }
  chunk(c: Partial<SnapshotChunk>): void {
    this.emit('data', {
      clusterId: '',
      offset: 0,
      data: Buffer.alloc(0),
      last: false,
      totalBytes: 0,
      sha256: '',
      ...c,
    } satisfies SnapshotChunk);
  }
  first(m: Message): void {
    this.chunk({ clusterId: 'raftkv', message: messageToWire(m) });
  }
}

describe('receiving snapshots', () => {
  let root: string;
  let db: Db;
  let store: SnapshotStore;
  let log: SqliteLogStorage;
  let receiver: SnapshotReceiver;
  let term: number;
  let delivered: Message[];
  const recvFiles = () => readdirSync(store.dir).filter((f) => f.startsWith('recv-'));

  const start = (): FakeCall => {
    const call = new FakeCall();
    receiver.handle(call as unknown as ServerReadableStream<SnapshotChunk, InstallSnapshotResponse>, (err, res) => {
      call.result = res === undefined || res === null ? { err } : { err, res };
    });
    return call;
  };

  /** Streams the whole file of `snap` (in 4 KiB chunks) after the first chunk of `m`. */
  const sendAll = (
    call: FakeCall,
    m: Message,
    snap: { path: string; bytes: number; sha256: string },
    o: { sha256?: string; beforeLast?: () => void } = {},
  ): void => {
    const data = readFileSync(snap.path);
    call.first(m);
    for (let off = 0; off < data.length; off += 4096) call.chunk({ offset: off, data: data.subarray(off, off + 4096) });
    o.beforeLast?.();
    call.chunk({ offset: data.length, last: true, totalBytes: data.length, sha256: o.sha256 ?? snap.sha256 });
  };

  beforeEach(() => {
    root = tempDir();
    db = openDatabase(join(root, 'n2'));
    new Membership(db, 'n2', PEERS.get('n2')!, logger).bootstrap(PEERS);
    log = new SqliteLogStorage(db);
    store = new SnapshotStore({
      db,
      dataDir: join(root, 'n2'),
      log,
      logger,
      policy: { entries: 1000, bytes: 1 << 30, catchupEntries: 10 },
      appliedIndex: () => 0,
    });
    term = 1;
    delivered = [];
    receiver = new SnapshotReceiver({
      self: 'n2',
      clusterId: 'raftkv',
      store,
      knows: PEERS,
      logger,
      deliver: (m) => delivered.push(m),
      term: () => term,
    });
  });
  afterEach(() => {
    store.close();
    db.close();
    removeDir(root);
  });

  test('a whole, verified snapshot reaches the core; one cut off (cancelled or ended early) leaves nothing', () => {
    const s = snapshotOf(root, 'leader', 20, 1, { a: '1' });
    const cut = start();
    cut.first(snapshotMessage(1, s.meta));
    cut.chunk({ offset: 0, data: Buffer.alloc(100) });
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);
    cut.emit('cancelled');
    expect(cut.result?.err?.code).toBe(status.CANCELLED);
    const ended = start();
    ended.first(snapshotMessage(1, s.meta));
    ended.chunk({ offset: 0, data: Buffer.alloc(100) });
    ended.emit('end');
    expect(ended.result?.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(readdirSync(store.dir)).toEqual([]);
    expect(delivered).toEqual([]);

    const ok = start();
    sendAll(ok, snapshotMessage(1, s.meta), s);
    expect(ok.result).toEqual({ err: null, res: { term: 1 } });
    expect(delivered.map((m) => m.snapshot)).toEqual([s.meta]);
    expect(recvFiles()).toHaveLength(1);
  });

  test('a damaged snapshot is refused and removed', () => {
    const s = snapshotOf(root, 'leader', 20, 1, { a: '1' });
    const call = start();
    sendAll(call, snapshotMessage(1, s.meta), s, { sha256: '0'.repeat(64) });
    expect(call.result?.err?.code).toBe(status.DATA_LOSS);
    expect(readdirSync(store.dir)).toEqual([]);
    expect(delivered).toEqual([]);
  });

  test("a transfer from a newer leader replaces the one in progress; an older leader's is refused", () => {
    const s = snapshotOf(root, 'leader', 20, 1, { a: '1' });
    const old = start();
    old.first(snapshotMessage(1, s.meta, 'n1'));
    old.chunk({ offset: 0, data: Buffer.alloc(100) });
    const next = start();
    next.first(snapshotMessage(2, s.meta, 'n3'));
    // The old one is dropped with its partial file; the new one has a file of its own.
    expect(old.result?.err?.code).toBe(status.ABORTED);
    expect(old.destroyed).toBe(true);
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);
    const stale = start();
    stale.first(snapshotMessage(1, s.meta, 'n1'));
    expect(stale.result?.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(next.result).toBeNull();
    // The replacement goes through.
    const data = readFileSync(s.path);
    next.chunk({ offset: 0, data });
    next.chunk({ offset: data.length, last: true, totalBytes: data.length, sha256: s.sha256 });
    expect(next.result?.err).toBeNull();
    expect(delivered.map((m) => m.from)).toEqual(['n3']);
  });

  test('a snapshot from a term older than ours is refused, at the first chunk or (deposed meanwhile) at the last', () => {
    const s = snapshotOf(root, 'leader', 20, 1, { a: '1' });
    term = 2;
    const early = start();
    early.first(snapshotMessage(1, s.meta));
    expect(early.result?.err?.code).toBe(status.FAILED_PRECONDITION);
    term = 1;
    const late = start();
    sendAll(late, snapshotMessage(1, s.meta), s, { beforeLast: () => (term = 2) });
    expect(late.result?.err?.code).toBe(status.FAILED_PRECONDITION);
    expect(readdirSync(store.dir)).toEqual([]);
    expect(delivered).toEqual([]);
  });

  test('an older snapshot received while a newer one awaits installation does not cost the newer one', async () => {
    const newer = snapshotOf(root, 'a', 30, 2, { k: 'new', only: 'newer' });
    const older = snapshotOf(root, 'b', 20, 1, { k: 'old' });
    for (const s of [newer, older]) {
      const tmp = store.tempPath('recv');
      copyFileSync(s.path, tmp);
      store.keepReceived(tmp, s.meta, s.bytes, s.sha256);
    }
    await store.install(newer.meta); // the core took the newer one and ignored the older
    const kv = db.prepare('SELECT CAST(key AS TEXT) AS key, CAST(value AS TEXT) AS value FROM mvcc_kv ORDER BY key').all();
    expect(kv).toEqual([
      { key: 'k', value: 'new' },
      { key: 'only', value: 'newer' },
    ]);
    expect(store.latest()?.meta).toEqual(newer.meta);
    expect(readdirSync(store.dir)).toEqual(['snap-30-2.db']); // the ignored one is gone too
  });

  test("an install (on a worker's connection) leaves the log after the snapshot, in the database and in memory", async () => {
    const s = snapshotOf(root, 'a', 30, 2, { k: 'v' });
    const tmp = store.tempPath('recv');
    copyFileSync(s.path, tmp);
    store.keepReceived(tmp, s.meta, s.bytes, s.sha256);
    const installing = store.install(s.meta);
    await expect(store.install(s.meta)).rejects.toThrow(/during another install/);
    await installing;
    expect([log.firstIndex(), log.lastIndex(), log.term(30), log.hardState().commit]).toEqual([31, 30, 2, 30]);
    expect(db.prepare('SELECT idx, term FROM log_base').get()).toEqual({ idx: 30, term: 2 });
    expect(db.prepare('SELECT commit_idx FROM hard_state').pluck().get()).toBe(30);
    expect(db.prepare('SELECT idx, term, file FROM snapshot_state').get()).toEqual({ idx: 30, term: 2, file: 'snap-30-2.db' });
    expect(log.snapshotMeta()).toEqual(s.meta);
  });
});
