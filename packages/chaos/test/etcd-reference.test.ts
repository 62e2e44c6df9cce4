// The etcd-API workloads against the specification itself: a real etcd 3.4 (Debian's etcd-server, when
// installed) serves the same calls the harness makes to raftkv, and the checkers must find nothing.
// This keeps the harness honest independently of raftkv: a workload that misreads etcd's answers
// (prev_kv, compare on absent keys, header revisions) fails here first.
import { checkBank, checkHistory, findLostWrites } from '../src/checker/index.js';
import { BankWorkload } from '../src/harness/bank-workload.js';
import { Cluster } from '../src/harness/cluster.js';
import { Random } from '../src/harness/random.js';
import { etcdApi } from '../src/harness/register-api.js';
import { Workload } from '../src/harness/workload.js';
import { freePorts, removeDir, sleep, spawnTracked, tempDir, waitFor } from '@raftkv/testkit';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

const hasEtcd = spawnSync('etcd', ['--version']).status === 0;
if (!hasEtcd) console.warn('etcd reference tests skipped: no etcd binary (apt-get install etcd-server)');
const etcdTest = hasEtcd ? test : test.skip;

let etcd: ChildProcess | undefined;
let dir = '';
let cluster: Cluster;

beforeAll(async () => {
  if (!hasEtcd) return;
  dir = tempDir('raftkv-chaos-etcd-');
  const [client, peer] = await freePorts(2);
  const url = (p: number | undefined): string => `http://127.0.0.1:${p}`;
  etcd = spawnTracked(
    'etcd',
    [
      '--data-dir',
      dir,
      '--listen-client-urls',
      url(client),
      '--advertise-client-urls',
      url(client),
      '--listen-peer-urls',
      url(peer),
      '--initial-advertise-peer-urls',
      url(peer),
      '--initial-cluster',
      `default=${url(peer)}`,
    ],
    { stdio: 'ignore' },
  );
  // The harness's cluster handle, pointed at etcd and never started: only its clients are used (they
  // decode etcd's 64-bit header ids exactly).
  cluster = new Cluster(
    {
      serverMain: '',
      nodes: [{ id: 'etcd', address: `127.0.0.1:${client}`, dataDir: dir, logFile: '' }],
      electionTimeoutMinMs: 0,
      electionTimeoutMaxMs: 0,
      heartbeatMs: 0,
    },
    () => 0,
  );
  const api = etcdApi(cluster);
  await waitFor('etcd to answer', () => api.read(0, 'probe', { deadline: Date.now() + 1000 }, false), 30_000);
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll(1000);
  etcd?.kill('SIGKILL');
  if (dir) removeDir(dir);
});

const options = { clients: 4, opTimeoutMs: 2000, thinkMs: 5 };

etcdTest(
  'the bank workload against etcd keeps its invariants',
  async () => {
    const t0 = performance.now();
    const w = new BankWorkload(cluster, new Random(7), () => performance.now() - t0, {
      ...options,
      accounts: 4,
      initialBalance: 50,
      maxTransfer: 20,
    });
    await w.setup(10_000);
    await w.setup(10_000); // idempotent: the accounts are created once
    w.start();
    await sleep(3000);
    await w.stop();
    expect(await w.finalRead(5000)).toBe(true);
    const r = checkBank(w.history, w.model);
    expect(r.violations.map((v) => v.report)).toEqual([]);
    expect(r.transfers.ok).toBeGreaterThan(20);
    expect(r.reads.serializable).toBeGreaterThan(10);
    expect(r.reads.linearizable).toBeGreaterThan(10);
    // Contention on four accounts: some transfers lost the compare and retried.
    expect(w.history.some((o) => o.f === 'transfer' && o.outcome === 'ok' && o.attempts > 1)).toBe(true);
  },
  60_000,
);

etcdTest(
  'the register workload against etcd is linearizable, and its answers carry what the checker needs',
  async () => {
    const t0 = performance.now();
    const w = new Workload(
      cluster,
      new Random(8),
      () => performance.now() - t0,
      { ...options, activeKeys: 3, opsPerKey: 200 },
      etcdApi(cluster),
    );
    w.start();
    await sleep(3000);
    await w.stop();
    expect(await w.finalReads(5000)).toEqual([]);
    const h = w.history;
    expect(checkHistory(h).verdict).toBe('ok');
    expect(findLostWrites(h)).toEqual([]);
    // Puts and deletes report what they replaced (prev_kv); failed CAS say what defeated them.
    expect(h.some((o) => o.output?.f === 'put' && o.output.previous !== undefined && o.output.previous !== null)).toBe(true);
    expect(h.some((o) => o.output?.f === 'cas' && o.output.succeeded)).toBe(true);
    expect(h.some((o) => o.output?.f === 'cas' && !o.output.succeeded && o.output.current !== undefined)).toBe(true);
    expect(h.filter((o) => o.outcome !== 'ok')).toEqual([]);
  },
  60_000,
);
