// Targeted fault scenarios with measured outcomes (the jest tests assert on them):
// - minority-leader: the leader is cut off with a minority; it must stop serving linearizable reads
//   and writes within an election timeout (CheckQuorum), answering UNAVAILABLE, never a stale value.
// - disk-full / disk-readonly: a node's data dir fills up or is read-only; the node must stop (with a
//   clear log line) rather than serve or diverge, and the others carry on.
import { Role } from '@raftkv/proto';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkHistory, type Operation } from '../checker/index.js';
import { makeCluster, type Cluster, type ClusterSetup } from './cluster.js';
import { applyPartition } from './netns.js';
import { onExit, run } from './proc.js';
import { killTracked, sleep } from '@raftkv/testkit';
import { Random } from './random.js';
import { Workload } from './workload.js';

export interface ScenarioContext extends ClusterSetup {
  readonly log: (line: string) => void;
  readonly seed: number;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly passed: boolean;
  readonly skipped?: string;
  readonly problems: string[];
  readonly [k: string]: unknown;
}

export interface Probe {
  readonly f: string;
  /** ms since the cut. */
  readonly call: number;
  readonly ret: number;
  /** 'OK' or the gRPC status name. */
  readonly code: string;
  readonly value?: string | null;
  readonly error?: string;
}

const codeOf = (op: Operation): string => (op.outcome === 'ok' ? 'OK' : ((op.error ?? '').split(':')[0] ?? '?'));

function probeOf(op: Operation, since: number): Probe {
  const base = { f: op.input.f, call: op.call - since, ret: op.ret - since, code: codeOf(op) };
  if (op.output?.f === 'read') return { ...base, value: op.output.value };
  return op.error === undefined ? base : { ...base, error: op.error };
}

async function untilOk(
  w: Workload,
  node: () => Promise<number | undefined>,
  key: string,
  value: string,
  timeoutMs: number,
): Promise<Operation | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const n = await node();
    if (n !== undefined) {
      const op = await w.invoke(0, n, key, { f: 'put', value });
      if (op.outcome === 'ok') return op;
    }
    await sleep(50);
  }
  return undefined;
}

function setup(ctx: ScenarioContext): { clock: () => number; rand: Random } {
  const t0 = performance.now();
  return { clock: () => performance.now() - t0, rand: new Random(ctx.seed) };
}

const workloadOptions = { clients: 0, activeKeys: 1, opsPerKey: 1_000_000, opTimeoutMs: 1000, thinkMs: 0 };

/** The leader is cut off with a minority (or, without namespaces, every follower is frozen). */
export async function minorityLeader(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { clock, rand } = setup(ctx);
  const { cluster, topology } = await makeCluster(ctx, clock);
  const w = new Workload(cluster, rand, clock, workloadOptions);
  const problems: string[] = [];
  try {
    cluster.startAll();
    const leader = await cluster.waitForLeader(30_000);
    const before = await untilOk(w, async () => leader, 'x', 'before', 10_000);
    if (before === undefined) throw new Error('could not write before the cut');
    const n = cluster.size;
    const others = Array.from({ length: n }, (_, i) => i).filter((i) => i !== leader);
    const minority = [leader, ...rand.shuffle(others).slice(0, Math.floor((n - 1) / 2) - 1)];
    const majority = others.filter((i) => !minority.includes(i));
    const mode = topology ? 'partition' : 'freeze-followers';
    ctx.log(
      `scenario: leader ${cluster.id(leader)}; cutting ${minority.map((i) => cluster.id(i)).join(',')} from ${majority.map((i) => cluster.id(i)).join(',')} (${mode})`,
    );

    const cutAt = clock();
    if (topology) await applyPartition(topology, (i, j) => minority.includes(i) === minority.includes(j));
    else for (const i of others) cluster.pause(i);

    // Watch the old leader's role, probe it with reads and writes, and (partition mode) write through
    // the majority's new leader.
    let stepDownAt: number | undefined;
    const watch = (async () => {
      while (clock() - cutAt < 6000 && stepDownAt === undefined) {
        const s = await cluster.status(leader, 200).catch(() => undefined);
        if (s !== undefined && s.role !== Role.ROLE_LEADER) stepDownAt = clock();
        await sleep(10);
      }
    })();
    const probes: Operation[] = [];
    const probe = (async () => {
      let k = 0;
      while (clock() - cutAt < 5000) {
        probes.push(await w.invoke(1, leader, 'x', { f: 'read' }));
        probes.push(await w.invoke(1, leader, 'x', { f: 'put', value: `minority-${k++}` }));
      }
    })();
    let afterAck: Operation | undefined;
    if (topology) {
      const majorityLeader = async (): Promise<number | undefined> => {
        const st = await cluster.statuses(300);
        return majority.find((i) => st[i]?.role === Role.ROLE_LEADER);
      };
      afterAck = await untilOk(w, majorityLeader, 'x', 'after', 10_000);
      if (afterAck === undefined) problems.push('the majority did not accept a write within 10 s');
    }
    await Promise.all([watch, probe]);

    if (topology) await applyPartition(topology, () => true);
    else for (const i of others) cluster.resume(i);
    await cluster.waitForLeader(30_000);
    const final = await w.finalReads(20_000);
    if (final.length > 0) problems.push('final read failed');
    await cluster.stopAll();

    const check = checkHistory(w.history);
    if (check.verdict !== 'ok') problems.push(`history is not linearizable: ${check.violations.map((v) => v.report).join('\n')}`);
    const stepDownMs = stepDownAt === undefined ? undefined : stepDownAt - cutAt;
    if (stepDownMs === undefined) problems.push('the old leader never stepped down');
    const late = probes.filter((p) => stepDownAt !== undefined && p.call > stepDownAt);
    const servedLate = late.filter((p) => p.outcome === 'ok');
    if (servedLate.length > 0) problems.push(`${servedLate.length} calls to the old leader succeeded after it stepped down`);
    const notUnavailable = late.filter((p) => p.outcome !== 'ok' && codeOf(p) !== 'UNAVAILABLE');
    if (notUnavailable.length > 0)
      problems.push(
        `${notUnavailable.length} calls to the old leader failed with something other than UNAVAILABLE: ${[...new Set(notUnavailable.map(codeOf))].join(', ')}`,
      );
    const okWritesAfterCut = probes.filter((p) => p.input.f === 'put' && p.outcome === 'ok');
    if (okWritesAfterCut.length > 0) problems.push(`${okWritesAfterCut.length} writes through the cut-off leader were acknowledged`);
    const okReadsAfterCut = probes.filter((p) => p.input.f === 'read' && p.outcome === 'ok');
    return {
      scenario: 'minority-leader',
      passed: problems.length === 0,
      problems,
      mode,
      nodes: n,
      leader: cluster.id(leader),
      electionTimeoutMaxMs: ctx.electionTimeoutMaxMs,
      stepDownMs,
      majorityWriteAckMs: afterAck === undefined ? undefined : afterAck.ret - cutAt,
      probesAfterStepDown: late.length,
      okReadsAfterCut: okReadsAfterCut.map((p) => probeOf(p, cutAt)),
      probes: probes.map((p) => probeOf(p, cutAt)),
      verdict: check.verdict,
    };
  } finally {
    await cluster.stopAll(1000).catch(() => undefined);
  }
}

const mountOk = async (args: string[]): Promise<string | undefined> => {
  try {
    await run('mount', args);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

/** Log lines of a node that say why it stopped. */
function stopLines(cluster: Cluster, i: number): string[] {
  return cluster
    .logTail(i, 400)
    .filter((l) => /"level":"error"|fatal|failed to start|storage|disk|SQLITE/i.test(l))
    .slice(-5);
}

/**
 * disk-full: node n3's data dir is a 1 MiB tmpfs; large writes fill it while clients keep checking
 * the register. disk-readonly: n3 is stopped, its data dir remounted read-only, and restarted.
 * Either way n3 must stop with a clear log line, the others must carry on, and once n3 has room again
 * it must rejoin with the same state as everyone else.
 */
export async function diskFailure(ctx: ScenarioContext, kind: 'full' | 'readonly'): Promise<ScenarioResult> {
  const scenario = `disk-${kind}`;
  if (process.getuid?.() !== 0) return { scenario, passed: true, skipped: 'mounting a small filesystem needs root', problems: [] };
  const { clock, rand } = setup(ctx);
  const { cluster } = await makeCluster({ ...ctx, nodes: 3 }, clock);
  const victim = 2;
  const mp = join(ctx.workDir, cluster.id(victim)); // the node's data dir itself
  mkdirSync(mp, { recursive: true });
  const mountErr = await mountOk(['-t', 'tmpfs', '-o', `size=${kind === 'full' ? '1m' : '64m'}`, 'tmpfs', mp]);
  if (mountErr !== undefined) return { scenario, passed: true, skipped: `cannot mount a tmpfs here: ${mountErr}`, problems: [] };
  // If the run is interrupted, the exit handlers must not leave the mount behind.
  const forget = onExit(() => {
    killTracked();
    spawnSync('umount', ['-l', mp]);
  });
  const w = new Workload(cluster, rand, clock, { ...workloadOptions, opTimeoutMs: 2000 });
  const problems: string[] = [];
  let stopRunning = false;
  try {
    cluster.startAll();
    await cluster.waitForLeader(30_000);
    // Background register traffic through every node, n3 included, for the linearizability check.
    const traffic = (async () => {
      let k = 0;
      while (!stopRunning) {
        const node = k % 3;
        await w.invoke(node, node, 'reg', k % 2 === 0 ? { f: 'read' } : { f: 'put', value: `v${k}` });
        k++;
        await sleep(20);
      }
    })();
    const failAt = clock();
    if (kind === 'readonly') {
      await cluster.kill(victim);
      const err = await mountOk(['-o', 'remount,ro', mp]);
      if (err !== undefined) problems.push(`could not remount read-only: ${err}`);
      cluster.start(victim);
    }
    // Fill the disk with big values (8 KiB each) until the victim stops, or 60 s.
    const big = 'x'.repeat(8192);
    let filler = 0;
    const end = Date.now() + 60_000;
    while (cluster.isRunning(victim) && Date.now() < end) {
      const op = await w.invoke(9, rand.int(0, 1), `big${filler % 64}`, { f: 'put', value: `${filler}-${big}` });
      if (op.outcome === 'ok') filler++;
      if (kind === 'readonly') await sleep(100);
    }
    const stoppedAt = clock();
    const stopped = !cluster.isRunning(victim);
    if (!stopped) problems.push(`${cluster.id(victim)} kept running for 60 s on a ${kind === 'full' ? 'full' : 'read-only'} disk`);
    const exit = cluster.unexpectedExits.find((e) => e.node === cluster.id(victim));
    const lines = stopLines(cluster, victim);
    if (stopped && lines.length === 0) problems.push(`${cluster.id(victim)} stopped without an error line in its log`);
    // The survivors keep serving.
    const survivorsWrite = await untilOk(w, async () => rand.int(0, 1), 'reg', 'after-failure', 10_000);
    if (survivorsWrite === undefined) problems.push('the remaining nodes did not accept a write after the failure');
    stopRunning = true;
    await traffic;

    // Give the victim room again; it must rejoin with exactly everyone's state.
    await cluster.kill(victim);
    const regrow = await mountOk(['-o', `remount,rw,size=256m`, mp]);
    if (regrow !== undefined) problems.push(`could not give the disk room again: ${regrow}`);
    cluster.start(victim);
    await cluster.waitForLeader(30_000);
    await w.finalReads(20_000);
    let digestsEqual = false;
    let digests: string[] = [];
    const dEnd = Date.now() + 30_000;
    while (Date.now() < dEnd) {
      const ds = await Promise.all([0, 1, 2].map((i) => cluster.digest(i).catch(() => undefined)));
      digests = ds.map((d, i) => `${cluster.id(i)}=${d ? `${d.appliedIndex}/${d.digest.slice(0, 12)}` : 'unreachable'}`);
      if (ds.every((d) => d !== undefined && d.appliedIndex === ds[0]!.appliedIndex)) {
        digestsEqual = ds.every((d) => d!.digest === ds[0]!.digest);
        break;
      }
      await sleep(200);
    }
    if (!digestsEqual) problems.push(`after rejoining, digests differ or never converged: ${digests.join(' ')}`);
    await cluster.stopAll();
    const check = checkHistory(w.history);
    if (check.verdict !== 'ok') problems.push(`history is not linearizable: ${check.violations.map((v) => v.report).join('\n')}`);
    return {
      scenario,
      passed: problems.length === 0,
      problems,
      victim: cluster.id(victim),
      stopped,
      exitCode: exit?.code ?? null,
      stopMs: stoppedAt - failAt,
      bigWritesAcknowledged: filler,
      stopLogLines: lines,
      digestsEqual,
      digests,
      verdict: check.verdict,
    };
  } finally {
    stopRunning = true;
    await cluster.stopAll(1000).catch(() => undefined);
    let unmounted = false;
    for (let i = 0; i < 10 && !unmounted; i++) {
      unmounted = await run('umount', [mp]).then(
        () => true,
        () => false,
      );
      if (!unmounted) await sleep(200);
    }
    if (!unmounted) await run('umount', ['-l', mp]).catch(() => undefined);
    forget();
  }
}
