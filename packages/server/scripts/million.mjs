#!/usr/bin/env node
// Issue 7's memory and start-up goals: a node holding 1 million 128-byte values should stay under
// 400 MB resident and serve within 5 s of starting. Builds such a data dir directly in the server's
// schema (what 1M committed puts leave behind: the log, the KV table, hard state, applied index),
// then starts a one-node cluster on it and measures time to serving and resident memory.
// Usage: node packages/server/scripts/million.mjs [--keys 1000000] [--value-bytes 128] [--keep]
import grpc from '@grpc/grpc-js';
import { KVClient, ProposeRequest, ReadConsistency } from '@raftkv/proto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const keys = Number(opt('keys', '1000000'));
const valueBytes = Number(opt('value-bytes', '128'));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'raftkv-million-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let t = performance.now();
const db = openDatabase(dir);
db.pragma('synchronous = OFF'); // building the fixture only; the node reopens it with its own settings
const putLog = db.prepare('INSERT INTO log (idx, term, type, data) VALUES (?, 1, 0, ?)');
const putKv = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
const value = Buffer.alloc(valueBytes, 0x61);
const batch = db.transaction((from, to) => {
  for (let i = from; i < to; i++) {
    const key = `key-${String(i).padStart(8, '0')}`;
    const data = Buffer.from(ProposeRequest.encode({ command: { $case: 'put', put: { key, value } }, clientId: '', sequence: 0 }).finish());
    putLog.run(i + 1, data);
    putKv.run(key, value);
  }
});
for (let i = 0; i < keys; i += 50_000) batch(i, Math.min(keys, i + 50_000));
db.prepare("INSERT INTO hard_state (id, term, vote, commit_idx) VALUES (0, 1, 'n1', ?)").run(keys);
db.prepare('UPDATE meta SET applied_index = ?, applied_term = 1 WHERE id = 0').run(keys);
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
console.error(`built ${keys} keys of ${valueBytes} B in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const addr = `127.0.0.1:${port}`;
t = performance.now();
const node = spawn(
  process.execPath,
  [MAIN, '--id', 'n1', '--listen', addr, '--peers', `n1=${addr}`, '--data-dir', dir, '--log-level', 'warn'],
  { stdio: 'inherit' },
);
const cleanup = () => {
  node.kill('SIGKILL');
  if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
const kv = new KVClient(addr, grpc.credentials.createInsecure());
const read = (key) =>
  new Promise((res, rej) =>
    kv.read({ key, consistency: ReadConsistency.READ_CONSISTENCY_LINEARIZABLE }, { deadline: Date.now() + 1000 }, (e, r) =>
      e ? rej(e) : res(r),
    ),
  );
const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${node.pid}/status`, 'utf8'))[1]) / 1024);
let first;
for (;;) {
  try {
    first = await read('key-00000000');
    break;
  } catch {
    await sleep(20);
  }
}
const startupMs = Math.round(performance.now() - t);
const rssAtStart = rss();
for (let i = 0; i < 20_000; i++) await read(`key-${String((i * 7919) % keys).padStart(8, '0')}`);
const rssAfterReads = rss();
console.log(
  JSON.stringify({
    keys,
    valueBytes,
    startupToFirstLinearizableReadMs: startupMs,
    firstReadFound: first.found,
    rssMbAtStart: rssAtStart,
    rssMbAfter20kReads: rssAfterReads,
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  }),
);
process.exit(0);
