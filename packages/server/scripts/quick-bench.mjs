#!/usr/bin/env node
// Quick numbers for the server on a local 3-node cluster (fresh temp data dirs, free loopback ports):
//   1. put latency with 1 call in flight, 2. put throughput with 64 in flight,
//   3. failover: time from kill -9 of the leader until a write succeeds again,
//   4. write unavailability when the leader stops: SIGTERM (it hands leadership over first) vs kill -9.
// Usage: node packages/server/scripts/quick-bench.mjs [--seconds 5] [--value-bytes 128] [--json]
// The full side-by-side benchmark against etcd is scripts/bench (issue 7); this is the smoke version.
import grpc from '@grpc/grpc-js';
import { freePort } from '@raftkv/testkit';
import { AdminClient, KVClient, Role } from '@raftkv/proto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(`--${n}`) ? args[args.indexOf(`--${n}`) + 1] : d);
const seconds = Number(opt('seconds', '5'));
const valueBytes = Number(opt('value-bytes', '128'));
const asJson = args.includes('--json');
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const log = (...a) => asJson || console.error(...a);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

const root = mkdtempSync(join(tmpdir(), 'raftkv-qb-'));
const ports = [];
while (ports.length < 3) {
  const p = await freePort();
  if (!ports.includes(p)) ports.push(p);
}
const ids = ['n1', 'n2', 'n3'];
const addr = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
const peers = ids.map((id) => `${id}=${addr[id]}`).join(',');
const procs = new Map();
const start = (id) => {
  const p = spawn(
    process.execPath,
    [MAIN, '--id', id, '--listen', addr[id], '--peers', peers, '--data-dir', join(root, id), '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  procs.set(id, p);
};
const cleanup = () => {
  for (const p of procs.values()) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
ids.forEach(start);

const admins = Object.fromEntries(ids.map((id) => [id, new AdminClient(addr[id], grpc.credentials.createInsecure())]));
const status = (id) => new Promise((res) => admins[id].status({}, { deadline: Date.now() + 1000 }, (e, r) => res(e ? null : r)));
async function leader(except) {
  for (;;) {
    const ss = (await Promise.all(ids.filter((i) => i !== except).map(status))).filter(Boolean);
    const l = ss.find((s) => s.role === Role.ROLE_LEADER);
    if (l && ss.every((s) => s.leaderId === l.id)) return l.id;
    await sleep(20);
  }
}

const value = Buffer.alloc(valueBytes, 0x61);
const channels = (id, n) =>
  Array.from({ length: n }, (_, i) => new KVClient(addr[id], grpc.credentials.createInsecure(), { 'grpc.channel_id': i }));
const put = (c, key, deadlineMs = 5000) =>
  new Promise((res, rej) =>
    c.propose(
      { command: { $case: 'put', put: { key, value } }, clientId: '', sequence: 0 },
      { deadline: Date.now() + deadlineMs },
      (e, r) => (e ? rej(e) : res(r)),
    ),
  );

/** CPU seconds (user + system) all running nodes have used so far, from /proc. */
function clusterCpuSeconds() {
  let ticks = 0;
  for (const p of procs.values()) {
    try {
      const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited
    }
  }
  return ticks / 100;
}

/** Closed loop: `inflight` workers issuing puts for `ms`; returns ops/s, latency percentiles and CPU cost. */
async function load(clients, inflight, ms) {
  const cpu0 = clusterCpuSeconds();
  const lat = [];
  let errors = 0;
  const end = performance.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: inflight }, async (_, w) => {
      const c = clients[w % clients.length];
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await put(c, `k${w}-${n++}`);
          lat.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  const cpuPer1000 = +(((clusterCpuSeconds() - cpu0) * 1000) / Math.max(1, lat.length)).toFixed(2);
  return {
    inflight,
    ops: lat.length,
    opsPerSec: Math.round(lat.length / (ms / 1000)),
    p50Ms: +pct(lat, 0.5).toFixed(2),
    p99Ms: +pct(lat, 0.99).toFixed(2),
    errors,
    clusterCpuSecondsPer1000Writes: cpuPer1000,
  };
}

const results = {};
try {
  const l = await leader();
  log(`cluster up, leader ${l}; warming up`);
  const lc = channels(l, 4);
  await load(lc, 16, 1000);
  results.latency1 = await load(lc, 1, seconds * 1000);
  const show = (r) =>
    `${r.opsPerSec} ops/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  errors ${r.errors}  cluster CPU ${r.clusterCpuSecondsPer1000Writes} s/1000 writes`;
  log(`1 in flight:  ${show(results.latency1)}`);
  results.throughput64 = await load(lc, 64, seconds * 1000);
  log(`64 in flight: ${show(results.throughput64)}`);

  // Failover: keep writing through a surviving node every 10 ms; measure from the kill to the first
  // write acknowledged again, and to a new leader that every survivor agrees on.
  const survivor = ids.find((i) => i !== l);
  const sc = channels(survivor, 1)[0];
  await put(sc, 'before-failover');
  const t0 = performance.now();
  procs.get(l).kill('SIGKILL');
  let writeMs = null;
  const writer = (async () => {
    for (let i = 0; writeMs === null; i++) {
      try {
        await put(sc, `failover-${i}`, 300);
        writeMs = performance.now() - t0;
      } catch {
        await sleep(10);
      }
    }
  })();
  const newLeader = await leader(l);
  const leaderMs = performance.now() - t0;
  await writer;
  results.failover = { killed: l, newLeader, electedMs: Math.round(leaderMs), firstWriteMs: Math.round(writeMs) };
  log(
    `failover: killed ${l}, ${newLeader} leads after ${results.failover.electedMs} ms, first write acknowledged after ${results.failover.firstWriteMs} ms`,
  );
  // Unavailability: a writer at one in flight through a follower; the longest gap between two
  // acknowledged writes around the leader's stop, SIGTERM (graceful hand-over) vs kill -9.
  start(l);
  const outage = async (signal) => {
    const lead = await leader();
    const via = ids.find((i) => i !== lead);
    const c = channels(via, 1)[0];
    for (let i = 0; ; i++) {
      try {
        await put(c, 'warm', 1000); // `via` may still be starting after the previous round
        break;
      } catch (e) {
        if (i === 50) throw e;
        await sleep(100);
      }
    }
    const acks = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await put(c, `outage-${signal}-${i}`, 300);
          acks.push(performance.now());
        } catch {
          await sleep(5);
        }
      }
    })();
    await sleep(300);
    const t = performance.now();
    procs.get(lead).kill(signal);
    await sleep(1500);
    stop = true;
    await writer;
    const before = acks.filter((a) => a < t).at(-1) ?? t;
    const after = acks.find((a) => a >= t) ?? performance.now();
    start(lead);
    await sleep(1000);
    return Math.round(after - before);
  };
  results.unavailability = { sigtermMs: [], kill9Ms: [] };
  for (let i = 0; i < 3; i++) {
    results.unavailability.sigtermMs.push(await outage('SIGTERM'));
    results.unavailability.kill9Ms.push(await outage('SIGKILL'));
  }
  log(
    `write unavailability when the leader stops (3 runs each): SIGTERM ${results.unavailability.sigtermMs.join(', ')} ms; kill -9 ${results.unavailability.kill9Ms.join(', ')} ms`,
  );
  results.config = {
    nodes: 3,
    valueBytes,
    seconds,
    electionTimeoutMs: '150-300',
    heartbeatMs: 50,
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
  log(`load average during the run: ${results.config.loadAverage} (2 cores; other processes skew every number above)`);
  if (asJson) console.log(JSON.stringify(results, null, 2));
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  cleanup();
  process.exit();
}
