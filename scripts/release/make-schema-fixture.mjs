#!/usr/bin/env node
// Makes the data dir fixture of a released schema: builds the release from its git tag
// (build-release.mjs), runs one node of it, writes a known history through the etcd API and raftkv.v1
// (puts, overwrites, deletes, a txn, a compaction, a session), lets it take a snapshot, stops it
// cleanly and saves its data dir with what a reader must find there (expected.json: every key with its
// revisions, the revision counters, the applied index and Admin.Digest) in
// packages/server/test/fixtures/schema-v<N>/. test/schema-fixtures.test.ts opens every fixture with the
// current build. Run it once per release whose schema changed:
//   node scripts/release/make-schema-fixture.mjs [v0.2.0] [--schema 2]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRelease } from './build-release.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { RaftkvClient } = await import(join(root, 'packages', 'client', 'dist', 'index.js'));

const args = process.argv.slice(2);
const tag = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--schema') ?? 'v0.2.0';
const schema = Number(args[args.indexOf('--schema') + 1] ?? 2) || 2;
const out = join(root, 'packages', 'server', 'test', 'fixtures', `schema-v${schema}`);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const release = buildRelease(tag);
const work = mkdtempSync(join(tmpdir(), 'raftkv-fixture-'));
const dataDir = join(work, 'n1');
const port = await freePort();
const address = `127.0.0.1:${port}`;
const node = spawn(
  process.execPath,
  [
    join(release, 'packages', 'server', 'dist', 'main.js'),
    ...['--id', 'n1', '--listen', address, '--peers', `n1=${address}`, '--data-dir', dataDir],
    ...['--snapshot-entries', '20', '--snapshot-catchup-entries', '5', '--auto-compaction-retention', '0', '--log-level', 'warn'],
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const client = new RaftkvClient({ endpoints: [address], timeoutMs: 5000 });
try {
  for (let i = 0; ; i++) {
    try {
      const s = await client.status();
      if (s.leaderId === 'n1') break;
    } catch (e) {
      if (i > 150) throw e;
    }
    await sleep(100);
  }
  const b = (s) => Buffer.from(s);
  for (let i = 0; i < 12; i++) await client.etcd.put({ key: b(`k${String(i).padStart(2, '0')}`), value: b(`v${i}`) });
  for (let i = 0; i < 4; i++) await client.etcd.put({ key: b('k00'), value: b(`v0-${i}`) }); // versions 2..5
  await client.etcd.deleteRange({ key: b('k01') });
  await client.etcd.deleteRange({ key: b('k02'), rangeEnd: b('k04') });
  await client.etcd.put({ key: b('bin\u0000\u00ff'), value: Buffer.from([0, 1, 2, 255]) });
  await client.etcd.txn({
    compare: [{ key: b('k05'), target: 3, result: 0, value: b('v5') }], // VALUE EQUAL
    success: [
      { request: { $case: 'requestPut', requestPut: { key: b('txn-a'), value: b('1') } } },
      { request: { $case: 'requestDeleteRange', requestDeleteRange: { key: b('k06') } } },
    ],
    failure: [],
  });
  const compactAt = Number((await client.etcd.put({ key: b('k07'), value: b('before-compaction') })).header.revision) - 3;
  await client.etcd.compact({ revision: compactAt, physical: true });
  await client.put('v1-key', 'v1-value', { session: { clientId: 'fixture-client', sequence: 1 } });
  await client.put('v1-other', 'x');
  await client.delete('v1-other');
  await client.etcd.put({ key: b('last'), value: b('written-last') });
  await sleep(1500); // a snapshot (--snapshot-entries 20) is taken within 250 ms of the trigger

  const all = await client.etcd.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  const digest = await client.digest();
  const status = await client.status();
  const expected = {
    release: tag,
    schemaVersion: schema,
    node: { id: 'n1', address },
    appliedIndex: Number(digest.appliedIndex),
    digest: digest.digest,
    keyCount: Number(digest.keyCount),
    revision: Number(all.header.revision),
    compactRevision: compactAt,
    term: Number(status.term),
    kvs: all.kvs.map((kv) => ({
      key: Buffer.from(kv.key).toString('base64'),
      value: Buffer.from(kv.value).toString('base64'),
      createRevision: Number(kv.createRevision),
      modRevision: Number(kv.modRevision),
      version: Number(kv.version),
    })),
  };
  client.close();
  node.kill('SIGTERM');
  await new Promise((r) => node.once('exit', r));
  rmSync(out, { recursive: true, force: true });
  // Each file gzipped (SQLite's mostly empty pages shrink ~20x): the test gunzips them into a temp dir.
  const files = readdirSync(dataDir, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(dataDir, f)).isFile());
  let size = 0;
  for (const f of files) {
    const gz = gzipSync(readFileSync(join(dataDir, f)), { level: 9 });
    mkdirSync(dirname(join(out, 'data', f)), { recursive: true });
    writeFileSync(join(out, 'data', `${f}.gz`), gz);
    size += gz.length;
  }
  writeFileSync(join(out, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
  process.stdout.write(
    `${out}: ${files.join(', ')} (${size} bytes gzipped); applied index ${expected.appliedIndex}, revision ${expected.revision}\n`,
  );
} finally {
  client.close();
  if (node.exitCode === null) node.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
