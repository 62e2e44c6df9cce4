#!/usr/bin/env node
// Operations measurements on local clusters (fresh temp data dirs, free loopback ports, all processes
// killed and dirs removed at exit):
//   snapshot  a follower that was down while the leader applied --keys puts (100k by default) catches
//             up by InstallSnapshot: snapshot build time on the leader, transfer, install, total catch-up
//   resize    3 -> 5 -> 3 under write load (sessions + retries): time per step, the longest write gap,
//             writes acknowledged and read back
// The unavailability of a graceful leader restart (SIGTERM + transfer) vs kill -9 is measured by
// quick-bench.mjs. Usage: node packages/server/scripts/ops-bench.mjs [snapshot|resize|all] [--keys N]
//   [--value-bytes 128] [--json] [--verbose]. The machine is shared: the load average is printed with the numbers.
import grpc from '@grpc/grpc-js';
import { freePort } from '@raftkv/testkit';
import { AdminClient, KVClient, ReadConsistency, Role } from '@raftkv/proto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const part = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'all';
const keys = Number(opt('keys', '100000'));
const valueBytes = Number(opt('value-bytes', '128'));
const asJson = args.includes('--json');
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const log = (...a) => asJson || console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const insecure = grpc.credentials.createInsecure();

const root = mkdtempSync(join(tmpdir(), 'raftkv-ops-'));
const procs = new Map();
process.on('exit', () => {
  for (const p of procs.values()) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** A local cluster whose nodes' JSON log lines are kept (for the figures the nodes log themselves). */
class Cluster {
  constructor(name, flags) {
    this.name = name;
    this.flags = flags;
    this.addr = {};
    this.lines = {};
    this.clients = {};
  }
  async init(ids) {
    for (const id of ids) await this.place(id);
    this.peers = ids.map((id) => `${id}=${this.addr[id]}`).join(',');
  }
  async place(id) {
    let p = await freePort();
    while (Object.values(this.addr).includes(`127.0.0.1:${p}`)) p = await freePort();
    this.addr[id] = `127.0.0.1:${p}`;
    this.lines[id] ??= [];
  }
  start(id, how = ['--peers', this.peers]) {
    // A client kept from before a restart may sit in grpc-js's reconnect backoff for seconds: the
    // figures would measure the backoff, not the node.
    for (const k of [`a/${id}`, `k/${id}`]) {
      this.clients[k]?.close();
      delete this.clients[k];
    }
    const p = spawn(
      process.execPath,
      [MAIN, '--id', id, '--listen', this.addr[id], '--data-dir', join(root, this.name, id), ...how, ...this.flags],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let buf = '';
    p.stdout.on('data', (b) => {
      buf += b;
      const parts = buf.split('\n');
      buf = parts.pop();
      for (const l of parts) {
        try {
          this.lines[id].push(JSON.parse(l));
        } catch {
          // not JSON
        }
      }
    });
    procs.set(`${this.name}/${id}`, p);
    this.proc = this.proc ?? {};
    this.proc[id] = p;
  }
  async stop(id, signal = 'SIGKILL') {
    const p = this.proc[id];
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
    delete this.proc[id];
    procs.delete(`${this.name}/${id}`);
  }
  running() {
    return Object.keys(this.proc ?? {});
  }
  admin(id) {
    return (this.clients[`a/${id}`] ??= new AdminClient(this.addr[id], insecure));
  }
  kv(id) {
    return (this.clients[`k/${id}`] ??= new KVClient(this.addr[id], insecure));
  }
  call(id, svc, method, req, ms = 2000) {
    const c = svc === 'admin' ? this.admin(id) : this.kv(id);
    return new Promise((res, rej) => c[method](req, { deadline: Date.now() + ms }, (e, r) => (e ? rej(e) : res(r))));
  }
  async leader() {
    for (;;) {
      const ss = (await Promise.all(this.running().map((id) => this.call(id, 'admin', 'status', {}, 1000).catch(() => null)))).filter(
        Boolean,
      );
      const l = ss.find((s) => s.role === Role.ROLE_LEADER);
      if (l && ss.every((s) => s.leaderId === l.id)) return l.id;
      await sleep(50);
    }
  }
  logged(id, message) {
    return this.lines[id].filter((l) => l.message === message);
  }
  close() {
    for (const c of Object.values(this.clients)) c.close();
  }
}

const value = Buffer.alloc(valueBytes, 0x61);
const put = (c, id, key, session) =>
  c.call(
    id,
    'kv',
    'propose',
    { command: { $case: 'put', put: { key, value } }, clientId: session?.clientId ?? '', sequence: session?.sequence ?? 0 },
    5000,
  );

async function snapshotPart() {
  const c = new Cluster('snap', ['--election-timeout-min-ms', '300', '--election-timeout-max-ms', '600', '--log-level', 'info']);
  await c.init(['n1', 'n2', 'n3']);
  for (const id of ['n1', 'n2', 'n3']) c.start(id);
  const leader = await c.leader();
  const lagging = ['n1', 'n2', 'n3'].find((id) => id !== leader);
  await c.stop(lagging);
  log(`snapshot: leader ${leader}; ${lagging} stopped; writing ${keys} keys of ${valueBytes} bytes`);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < keys; i = next++) {
        for (let attempt = 0; ; attempt++) {
          try {
            await put(c, leader, `key-${String(i).padStart(7, '0')}`);
            break;
          } catch (e) {
            if (attempt === 20) throw e;
            await sleep(50);
          }
        }
      }
    }),
  );
  const loadS = (performance.now() - t0) / 1000;
  log(`snapshot: ${keys} puts in ${loadS.toFixed(1)} s; waiting for the leader's snapshot of all of them`);
  // Snapshots come every --snapshot-entries applied entries: overwrite one key until the leader has
  // taken one that holds every key.
  let taken;
  for (let i = 0; (taken = c.logged(leader, 'snapshot taken').find((l) => l.keys >= keys)) === undefined; i++) {
    await Promise.all(Array.from({ length: 16 }, () => put(c, leader, 'filler').catch(() => {})));
  }
  const commit = (await c.call(leader, 'admin', 'status', {})).commitIndex;
  const restart = performance.now();
  c.start(lagging);
  for (;;) {
    const s = await c.call(lagging, 'admin', 'status', {}, 1000).catch(() => null);
    if (s && s.appliedIndex >= commit) break;
    await sleep(20);
  }
  const catchUpMs = Math.round(performance.now() - restart);
  if (args.includes('--verbose')) {
    for (const id of ['n1', 'n2', 'n3'])
      for (const l of c.lines[id]) if (/snapshot|leader|stall/.test(l.message)) log(id, JSON.stringify(l));
  }
  const sent = ['n1', 'n2', 'n3'].flatMap((id) => c.logged(id, 'sent a snapshot')).at(-1);
  const installed = c.logged(lagging, 'installed a snapshot from the leader').at(-1);
  const stalls = c.logged(leader, 'event loop stalled').map((l) => l.maxDelayMs);
  let digestsEqual = false;
  for (let i = 0; i < 100 && !digestsEqual; i++) {
    const ds = await Promise.all(['n1', 'n2', 'n3'].map((id) => c.call(id, 'admin', 'digest', {}, 10_000)));
    digestsEqual = new Set(ds.map((d) => d.digest)).size === 1 && ds[0].keyCount >= keys;
    if (!digestsEqual) await sleep(100);
  }
  const r = {
    keys,
    valueBytes,
    writeSeconds: +loadS.toFixed(1),
    snapshotOnLeader: taken && { index: taken.index, keys: taken.keys, bytes: taken.bytes, buildMs: taken.ms },
    transfer: sent && { bytes: sent.bytes, ms: sent.ms },
    install: installed && { ms: installed.ms },
    followerCatchUpMs: catchUpMs,
    leaderEventLoopStallsMs: stalls,
    digestsEqual,
    loadAverage: loadAverage(),
  };
  log(
    `snapshot: ${r.snapshotOnLeader?.keys} keys, ${((r.snapshotOnLeader?.bytes ?? 0) / 1e6).toFixed(1)} MB built in ${r.snapshotOnLeader?.buildMs} ms (worker thread); ` +
      `sent in ${r.transfer?.ms} ms; installed in ${r.install?.ms} ms; ${lagging} caught up ${catchUpMs} ms after its restart; ` +
      `leader event-loop stalls: ${stalls.length ? stalls.join(', ') + ' ms' : 'none reported'}; digests equal: ${digestsEqual}; load average ${r.loadAverage}`,
  );
  c.close();
  for (const id of c.running()) await c.stop(id);
  return r;
}

async function resizePart() {
  const c = new Cluster('resize', [
    '--election-timeout-min-ms',
    '300',
    '--election-timeout-max-ms',
    '600',
    '--snapshot-entries',
    '2000',
    '--snapshot-catchup-entries',
    '500',
  ]);
  await c.init(['n1', 'n2', 'n3']);
  for (const id of ['n1', 'n2', 'n3']) c.start(id);
  await c.leader();
  const acked = new Map();
  const acks = [];
  let retries = 0;
  let stopped = false;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 1; !stopped; i++) {
      const key = `w${w}-${i}`;
      for (let attempt = 0; ; attempt++) {
        const via = c.running()[(i + attempt) % c.running().length];
        try {
          await put(c, via, key, { clientId: `resize-${w}`, sequence: i });
          break;
        } catch {
          retries++;
          await sleep(20);
        }
      }
      acked.set(key, true);
      acks.push(performance.now());
    }
  });
  await sleep(2000);
  const steps = [];
  const t0 = performance.now();
  const step = async (what, f) => {
    const t = performance.now();
    await f();
    steps.push({
      step: what,
      ms: Math.round(performance.now() - t),
      startS: +((t - t0) / 1000).toFixed(1),
      from: t,
      to: performance.now(),
    });
    log(`resize: at ${steps.at(-1).startS} s: ${what} in ${steps.at(-1).ms} ms`);
  };
  const isVoter = async (id) => {
    for (;;) {
      const l = await c.call(c.running()[0], 'admin', 'listMembers', {}).catch(() => null);
      if (l?.members.some((m) => m.id === id && m.voter)) return;
      await sleep(50);
    }
  };
  for (const id of ['n4', 'n5']) {
    await c.place(id);
    await step(`${id} joins (--join: learner, catch-up, voter)`, async () => {
      c.start(id, ['--join', ['n1', 'n2', 'n3'].map((x) => c.addr[x]).join(','), '--advertise', c.addr[id]]);
      await isVoter(id);
    });
  }
  const leader = await c.leader();
  const second = ['n1', 'n2', 'n3'].find((x) => x !== leader);
  for (const id of [leader, second]) {
    await step(`remove ${id}${id === leader ? ' (the leader)' : ''}, then SIGTERM it`, async () => {
      const via = c.running().find((x) => x !== id);
      const t = performance.now();
      await c.call(via, 'admin', 'removeMember', { id }, 60_000);
      const removedMs = Math.round(performance.now() - t);
      await c.stop(id, 'SIGTERM');
      log(`resize: ${id} removed in ${removedMs} ms, stopped ${Math.round(performance.now() - t) - removedMs} ms after SIGTERM`);
    });
  }
  await sleep(2000);
  stopped = true;
  await Promise.all(writers);
  const last = await c.leader();
  let lost = 0;
  for (const key of acked.keys()) {
    const r = await c.call(last, 'kv', 'read', { key, consistency: ReadConsistency.READ_CONSISTENCY_LINEARIZABLE }, 5000);
    if (!r.found) lost++;
  }
  /** The longest time without an acknowledged write that overlaps [from, to]: [ms, start]. */
  const longestGap = (from = -Infinity, to = Infinity) => {
    let best = [0, 0];
    for (let i = 1; i < acks.length; i++)
      if (acks[i] >= from && acks[i - 1] <= to && acks[i] - acks[i - 1] > best[0]) best = [acks[i] - acks[i - 1], acks[i - 1]];
    return best;
  };
  const [maxGap, gapAt] = longestGap();
  for (const s of steps) {
    s.longestWriteGapMs = Math.round(longestGap(s.from, s.to)[0]);
    delete s.from;
    delete s.to;
  }
  // Writes acknowledged per second, to see where the changes slowed them.
  const perSecond = [];
  for (const a of acks) perSecond[Math.floor((a - t0) / 1000)] = (perSecond[Math.floor((a - t0) / 1000)] ?? 0) + 1;
  const members = (await c.call(last, 'admin', 'listMembers', {})).members.map((m) => `${m.id}${m.voter ? '' : ' (learner)'}`);
  if (args.includes('--verbose')) {
    // The nodes' log lines around the longest gap, on the gap's clock (ms from its start).
    const from = gapAt - 1500;
    const to = gapAt + maxGap + 500;
    const all = Object.entries(c.lines).flatMap(([id, ls]) => ls.map((l) => ({ id, l, t: Date.parse(l.timestamp) })));
    const wall0 = Date.now() - performance.now();
    for (const { id, l, t } of all.sort((a, b) => a.t - b.t)) {
      const rel = t - wall0;
      if (rel >= from && rel <= to)
        log(
          `${(rel - gapAt).toFixed(0).padStart(6)} ${id} ${l.role}@${l.term} ${l.message} ${JSON.stringify({ ...l, message: undefined, timestamp: undefined, node: undefined, level: undefined, role: undefined, term: undefined }).slice(0, 200)}`,
        );
    }
  }
  const r = {
    steps,
    writesAcknowledged: acked.size,
    retries,
    lostWrites: lost,
    longestWriteGapMs: Math.round(maxGap),
    longestGapStartS: +((gapAt - t0) / 1000).toFixed(1),
    writesPerSecond: Array.from(perSecond, (n) => n ?? 0),
    finalMembers: members,
    loadAverage: loadAverage(),
  };
  for (const s of steps) log(`resize: ${s.step}: ${s.ms} ms, longest write gap during it ${s.longestWriteGapMs} ms`);
  log(
    `resize: ${acked.size} writes acknowledged (8 writers), ${retries} retries, ${lost} lost; longest gap between acknowledgements ${r.longestWriteGapMs} ms (at ${r.longestGapStartS} s); writes/s ${r.writesPerSecond.join(' ')}; members now ${members.join(', ')}; load average ${r.loadAverage}`,
  );
  c.close();
  for (const id of c.running()) await c.stop(id);
  return r;
}

const results = {};
try {
  if (part === 'snapshot' || part === 'all') results.snapshot = await snapshotPart();
  if (part === 'resize' || part === 'all') results.resize = await resizePart();
  if (asJson) console.log(JSON.stringify(results, null, 2));
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  process.exit();
}
