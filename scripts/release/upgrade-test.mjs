#!/usr/bin/env node
// A rolling upgrade under write load: builds the previous release from its git tag (build-release.mjs),
// starts a 3-node cluster of it on 127.0.0.1, runs a write load through @raftkv/client (etcd puts of
// unique keys, each acknowledged one recorded, prev_kv checked: a key is never overwritten), and
// replaces one node at a time by this tree's build on the same data dir (SIGTERM: the leader hands
// over first). Checks at the end: every acknowledged write is there with its value, the cluster
// version rose to this release only once every node ran it, and every node has the same digest.
// Reports the errors the load saw, by phase (a hand-over or between them).
//   node scripts/release/upgrade-test.mjs [--from v0.2.0] [--workers 4] [--settle-ms 4000] [--keep]
// Exit code 0: no acknowledged write lost and the checks held; 1 otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildRelease } from './build-release.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { RaftkvClient } = await import(join(root, 'packages', 'client', 'dist', 'index.js'));
const CURRENT_MAIN = join(root, 'packages', 'server', 'dist', 'main.js');

const { values: opt } = parseArgs({
  options: {
    from: { type: 'string', default: 'v0.2.0' },
    workers: { type: 'string', default: '4' },
    'settle-ms': { type: 'string', default: '4000' },
    keep: { type: 'boolean', default: false },
  },
});
const workers = Number(opt.workers);
const settleMs = Number(opt['settle-ms']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (msg, extra = {}) =>
  process.stdout.write(
    `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s ${msg}${Object.keys(extra).length ? ' ' + JSON.stringify(extra) : ''}\n`,
  );

async function freePorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const oldRelease = buildRelease(opt.from);
const OLD_MAIN = join(oldRelease, 'packages', 'server', 'dist', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'raftkv-upgrade-'));
const ports = await freePorts(3);
const nodes = ports.map((p, i) => ({
  id: `n${i + 1}`,
  address: `127.0.0.1:${p}`,
  dataDir: join(work, `n${i + 1}`),
  proc: null,
  build: '',
}));
const peers = nodes.map((n) => `${n.id}=${n.address}`).join(',');

function start(n, main, build) {
  const args = [main, '--id', n.id, '--listen', n.address, '--peers', peers, '--data-dir', n.dataDir, '--log-level', 'warn'];
  args.push('--election-timeout-min-ms', '600', '--election-timeout-max-ms', '1200', '--heartbeat-ms', '100');
  n.proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  n.stderr = '';
  n.proc.stderr.on('data', (b) => (n.stderr += b));
  n.build = build;
}

async function stop(n) {
  const p = n.proc;
  if (p === null || p.exitCode !== null) return;
  p.kill('SIGTERM');
  const exited = await Promise.race([new Promise((r) => p.once('exit', () => r(true))), sleep(15_000).then(() => false)]);
  if (!exited) p.kill('SIGKILL');
  n.proc = null;
}

const admin = new RaftkvClient({ endpoints: nodes.map((n) => n.address), timeoutMs: 3000 });
async function statusOf(n) {
  try {
    return await admin.statusOf(n.address, { timeoutMs: 1000 });
  } catch {
    return null;
  }
}

/** Every node answers, they agree on a leader, and each applied what it knows to be committed. */
async function waitHealthy(what, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const all = await Promise.all(nodes.map(statusOf));
    const leader = all[0]?.leaderId;
    if (all.every((s) => s !== null && s.leaderId !== '' && s.leaderId === leader && s.appliedIndex >= s.commitIndex - 50)) return all;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(all)}`);
    await sleep(200);
  }
}

// ---- the load ----
const acked = new Map(); // key -> value
const errors = []; // { at, phase, worker, message }
let phase = 'start';
let running = true;
const workerStats = [];
async function worker(w) {
  // One client per worker, every endpoint, its own node first (the client follows leader hints).
  const endpoints = nodes.map((n) => n.address);
  const client = new RaftkvClient({ endpoints: [...endpoints.slice(w % 3), ...endpoints.slice(0, w % 3)], timeoutMs: 5000 });
  const st = { worker: w, ok: 0, failed: 0, lastRevision: 0 };
  workerStats.push(st);
  for (let seq = 0; running; seq++) {
    const key = `w${w}-${String(seq).padStart(6, '0')}`;
    const value = `${w}:${seq}:${Date.now()}`;
    try {
      const r = await client.etcd.put({ key: Buffer.from(key), value: Buffer.from(value), prevKv: true });
      if (r.prevKv !== undefined && r.prevKv !== null && r.prevKv.key?.length > 0)
        errors.push({ at: Date.now() - t0, phase, worker: w, message: `key ${key} existed before its only put` });
      const rev = Number(r.header?.revision ?? 0);
      if (rev <= st.lastRevision)
        errors.push({ at: Date.now() - t0, phase, worker: w, message: `revision went back: ${rev} after ${st.lastRevision}` });
      st.lastRevision = rev;
      acked.set(key, value);
      st.ok++;
    } catch (e) {
      st.failed++;
      errors.push({ at: Date.now() - t0, phase, worker: w, message: String(e.details ?? e.message).slice(0, 160) });
      await sleep(50);
    }
  }
  client.close();
}

let exitCode = 0;
try {
  log(`cluster of ${opt.from} (${OLD_MAIN})`, { nodes: nodes.map((n) => n.address), work });
  for (const n of nodes) start(n, OLD_MAIN, opt.from);
  await waitHealthy(`the ${opt.from} cluster`);
  const load = Array.from({ length: workers }, (_, w) => worker(w));
  phase = `all ${opt.from}`;
  await sleep(settleMs);
  const versionsSeen = [];
  for (const n of nodes) {
    const before = await Promise.all(nodes.map(statusOf));
    const leader = before.find((s) => s !== null)?.leaderId;
    phase = `hand-over ${n.id}${n.id === leader ? ' (leader)' : ''}`;
    log(`replacing ${n.id}${n.id === leader ? ' (the leader)' : ''} by this build`, { acked: acked.size, errors: errors.length });
    const t = Date.now();
    await stop(n);
    start(n, CURRENT_MAIN, 'current');
    const after = await waitHealthy(`${n.id} back`);
    log(`${n.id} runs this build again in ${Date.now() - t} ms`, { leader: after[0].leaderId });
    phase = `after ${n.id}: ${nodes.map((x) => `${x.id}=${x.build}`).join(' ')}`;
    await sleep(settleMs);
    const cv = (await Promise.all(nodes.map(statusOf))).map((s) =>
      s === null ? null : { id: s.id, version: s.version || '(v0.2.0)', cluster: s.clusterVersion },
    );
    versionsSeen.push({ after: n.id, nodes: cv });
    log('versions', { nodes: cv });
  }
  phase = 'all current';
  await sleep(settleMs);
  running = false;
  await Promise.all(load);

  // ---- checks ----
  const final = await waitHealthy('the upgraded cluster');
  const problems = [];
  const mixed = versionsSeen
    .slice(0, -1)
    .flatMap((v) => v.nodes)
    .filter((s) => s !== null && s.cluster !== undefined && s.cluster !== '');
  if (mixed.length > 0) problems.push(`cluster version set while a node still ran ${opt.from}: ${JSON.stringify(mixed)}`);
  const cvFinal = await (async () => {
    const end = Date.now() + 10_000;
    for (;;) {
      const s = await Promise.all(nodes.map(statusOf));
      if (s.every((x) => x?.clusterVersion === x?.version) || Date.now() > end) return s.map((x) => x?.clusterVersion);
      await sleep(200);
    }
  })();
  if (!cvFinal.every((v) => v === '0.3.0' || (v && v === final[0].version))) problems.push(`cluster version after the upgrade: ${cvFinal}`);
  const reader = new RaftkvClient({ endpoints: nodes.map((n) => n.address), timeoutMs: 10_000 });
  const all = await reader.etcd.range({ key: Buffer.from('w'), rangeEnd: Buffer.from('x') });
  const found = new Map(all.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString()]));
  let lost = 0;
  for (const [k, v] of acked) if (found.get(k) !== v) lost++;
  if (lost > 0) problems.push(`${lost} acknowledged writes lost or changed`);
  // Digests once every node applied the same index.
  const digests = await (async () => {
    const end = Date.now() + 20_000;
    for (;;) {
      const d = await Promise.all(
        nodes.map((n) => new RaftkvClient({ endpoints: [n.address], timeoutMs: 3000 }).digest().catch(() => null)),
      );
      if (d.every((x) => x !== null && x.appliedIndex === d[0].appliedIndex) || Date.now() > end) return d;
      await sleep(300);
    }
  })();
  if (!digests.every((d) => d !== null && d.digest === digests[0].digest)) problems.push(`digests differ: ${JSON.stringify(digests)}`);
  reader.close();

  const byPhase = {};
  for (const e of errors) {
    const k = `${e.phase} :: ${e.message.replace(/w\d+-\d+/g, 'KEY').replace(/\d{3,}/g, 'N')}`;
    byPhase[k] = (byPhase[k] ?? 0) + 1;
  }
  const outsideHandOvers = errors.filter((e) => !e.phase.startsWith('hand-over'));
  log('result', {
    from: opt.from,
    to: final[0].version,
    acknowledged: acked.size,
    presentInRead: found.size,
    lost,
    clusterVersion: cvFinal,
    digest: digests.map((d) => d?.digest.slice(0, 12)),
    appliedIndex: digests.map((d) => d?.appliedIndex),
    workers: workerStats,
    errors: errors.length,
    errorsOutsideHandOvers: outsideHandOvers.length,
  });
  for (const [k, n] of Object.entries(byPhase)) log(`  ${n} x ${k}`);
  for (const p of problems) log(`PROBLEM: ${p}`);
  if (problems.length > 0 || outsideHandOvers.length > 0) exitCode = 1;
} catch (e) {
  log(`FAILED: ${e.message}`);
  for (const n of nodes) if (n.stderr) log(`${n.id} stderr: ${n.stderr.slice(-2000)}`);
  exitCode = 1;
} finally {
  running = false;
  admin.close();
  for (const n of nodes) await stop(n);
  if (!opt.keep) rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
