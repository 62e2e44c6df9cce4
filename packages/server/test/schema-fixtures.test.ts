// Data dirs written by released versions (test/fixtures/schema-v*/, made by
// scripts/release/make-schema-fixture.mjs) open with this build: migrated to SCHEMA_VERSION, every key
// with its revisions intact, the digest as the old release computed it; the snapshot file the old node
// took installs; and a node started on the data dir serves reads and writes and raises the cluster version.
import { freePort, removeDir, requireBuilt, spawnTracked, tempDir, waitFor } from '@raftkv/testkit';
import { RaftkvClient } from '@raftkv/client';
import type { SnapshotMeta } from '@raftkv/consensus';
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { openDatabase } from '../src/storage/db.js';
import { SCHEMA_VERSION, STATE_TABLES } from '../src/storage/schema.js';
import { KvStateMachine } from '../src/storage/state-machine.js';
import { readSnapshotMeta } from '../src/storage/snapshot-build.js';
import { SnapshotStore } from '../src/storage/snapshot-store.js';
import { SqliteLogStorage } from '../src/storage/log-storage.js';
import { createLogger } from '../src/observability/logger.js';
import { MAIN } from './harness.js';

interface Expected {
  readonly release: string;
  readonly schemaVersion: number;
  readonly appliedIndex: number;
  readonly digest: string;
  readonly keyCount: number;
  readonly revision: number;
  readonly compactRevision: number;
  readonly kvs: readonly { key: string; value: string; createRevision: number; modRevision: number; version: number }[];
}

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixtures = readdirSync(FIXTURES).filter((d) => /^schema-v\d+$/.test(d));
const logger = createLogger({ node: 'n1', term: 0, role: 'follower' }, 'error');

/** The fixture's data dir, gunzipped into a new temp dir. */
function unpack(fixture: string): string {
  const from = join(FIXTURES, fixture, 'data');
  const to = tempDir(`raftkv-${fixture}-`);
  for (const f of readdirSync(from, { recursive: true }).map(String)) {
    if (!f.endsWith('.gz') || !statSync(join(from, f)).isFile()) continue;
    const dest = join(to, f.slice(0, -3));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, gunzipSync(readFileSync(join(from, f))));
  }
  return to;
}

const expectedOf = (fixture: string): Expected => JSON.parse(readFileSync(join(FIXTURES, fixture, 'expected.json'), 'utf8')) as Expected;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

test('there is a fixture of every released schema before this one', () => {
  expect(fixtures).toContain('schema-v2');
  expect(SCHEMA_VERSION).toBeGreaterThan(2);
});

test('a snapshot file of a newer schema is refused, naming both versions', () => {
  const dir = unpack('schema-v2');
  try {
    const file = join(dir, 'snapshots', readdirSync(join(dir, 'snapshots'))[0]!);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const r = readSnapshotMeta(file);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(
      `snapshot schema version ${SCHEMA_VERSION + 1} is newer than this raftkv supports (${SCHEMA_VERSION}): ` +
        'it was written by a newer release; upgrade this node first',
    );
  } finally {
    removeDir(dir);
  }
});

describe.each(fixtures)('%s', (fixture) => {
  const want = expectedOf(fixture);
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  test('opens migrated: the schema version, the new tables, every key and revision, the digest', () => {
    const dir = unpack(fixture);
    dirs.push(dir);
    const db = openDatabase(dir);
    try {
      expect(db.prepare('SELECT schema_version FROM meta').pluck().get()).toBe(SCHEMA_VERSION);
      const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
      for (const t of STATE_TABLES) expect(tables).toContain(t.name);
      const sm = new KvStateMachine(db);
      expect(sm.appliedIndex()).toBe(want.appliedIndex);
      expect(sm.store.currentRevision()).toBe(want.revision);
      expect(sm.store.compactedRevision()).toBe(want.compactRevision);
      expect(sm.clusterVersion.get()).toBe('');
      expect(sm.digest()).toEqual({ appliedIndex: want.appliedIndex, digest: want.digest, keyCount: want.keyCount });
      const r = sm.store.range(
        {
          key: Buffer.from([0]),
          rangeEnd: Buffer.from([0]),
          limit: 0,
          revision: 0,
          sortOrder: 0,
          sortTarget: 0,
          serializable: true,
          keysOnly: false,
          countOnly: false,
          minModRevision: 0,
          maxModRevision: 0,
          minCreateRevision: 0,
          maxCreateRevision: 0,
        },
        1 << 20,
      );
      const kvs = r.kvs.map((kv) => ({
        key: b64(kv.key),
        value: b64(kv.value),
        createRevision: kv.createRevision,
        modRevision: kv.modRevision,
        version: kv.version,
      }));
      expect(kvs).toEqual(want.kvs);
    } finally {
      db.close();
    }
    // Opening it again changes nothing (a current schema is not written to).
    const again = openDatabase(dir);
    expect(new KvStateMachine(again).digest().digest).toBe(want.digest);
    again.close();
  });

  test("the old release's snapshot file is accepted and installs (new state tables start as on a new node)", async () => {
    const dir = unpack(fixture);
    dirs.push(dir);
    const snapDir = join(dir, 'snapshots');
    const file = readdirSync(snapDir).find((f) => f.startsWith('snap-'));
    expect(file).toBeDefined();
    const meta = readSnapshotMeta(join(snapDir, file!));
    if (meta instanceof Error) throw meta;
    expect(meta.index).toBeLessThanOrEqual(want.appliedIndex);

    const fresh = tempDir('raftkv-install-');
    dirs.push(fresh);
    const db = openDatabase(fresh);
    try {
      const log = new SqliteLogStorage(db);
      const store = new SnapshotStore({
        db,
        dataDir: fresh,
        log,
        logger,
        policy: { entries: 1000, bytes: 1 << 30, catchupEntries: 10 },
        appliedIndex: () => 0,
      });
      const tmp = store.tempPath('recv');
      copyFileSync(join(snapDir, file!), tmp);
      const size = statSync(tmp).size;
      store.keepReceived(tmp, meta as SnapshotMeta, size, 'sha-not-checked-here');
      await store.install(meta);
      const sm = new KvStateMachine(db);
      expect(sm.appliedIndex()).toBe(meta.index);
      expect(sm.clusterVersion.get()).toBe('');
      if (meta.index === want.appliedIndex) expect(sm.digest().digest).toBe(want.digest);
    } finally {
      db.close();
    }
  });

  test('a node of this build serves it: every key, reads and writes, then the cluster version rises to its release', async () => {
    requireBuilt(MAIN);
    const dir = unpack(fixture);
    dirs.push(dir);
    const address = `127.0.0.1:${await freePort()}`;
    // The members table keeps the old address of n1; alone in its cluster, n1 never dials itself.
    const node: ChildProcess = spawnTracked(
      process.execPath,
      [MAIN, '--id', 'n1', '--listen', address, '--peers', `n1=${address}`, '--data-dir', dir, '--log-level', 'warn'],
      { stdio: 'ignore' },
    );
    const client = new RaftkvClient({ endpoints: [address], timeoutMs: 5000 });
    try {
      await waitFor('n1 leads', async () => ((await client.status()).leaderId === 'n1' ? true : undefined), 30_000);
      const all = await client.etcd.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
      expect(
        all.kvs.map((kv) => ({
          key: b64(kv.key),
          value: b64(kv.value),
          createRevision: Number(kv.createRevision),
          modRevision: Number(kv.modRevision),
          version: Number(kv.version),
        })),
      ).toEqual(want.kvs);
      expect(Number(all.header?.revision)).toBe(want.revision);
      const put = await client.etcd.put({ key: Buffer.from('after-upgrade'), value: Buffer.from('1') });
      expect(Number(put.header?.revision)).toBe(want.revision + 1);
      expect((await client.read('v1-key')).value.toString()).toBe('v1-value');
      const s = await waitFor('the cluster version', async () => {
        const st = await client.status();
        return st.clusterVersion !== '' ? st : undefined;
      });
      expect(s).toMatchObject({ version: '0.3.0', schemaVersion: SCHEMA_VERSION, clusterVersion: '0.3.0' });
    } finally {
      client.close();
      node.kill('SIGKILL');
    }
  }, 90_000);
});
