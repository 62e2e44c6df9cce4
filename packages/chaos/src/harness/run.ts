// One chaos run: start the cluster, run clients and the nemesis for the duration, heal, settle, read
// every key, compare the nodes' state digests, and check the history.
import { Role } from '@raftkv/proto';
import { performance } from 'node:perf_hooks';
import type { CheckResult, WatchEvent } from '../checker/index.js';
import { makeWorkload, type ApiName, type Span, type WorkloadName, type WorkloadVerdict } from './chaos-workload.js';
import { makeCluster, type Cluster, type UnexpectedExit } from './cluster.js';
import { MemberNemesis, type MembershipCounts } from './member-nemesis.js';
import { Nemesis, type FaultFamily, type NemesisEvent } from './nemesis.js';
import { sleep } from '@raftkv/testkit';
import { Random } from './random.js';
import { finishWatchers, Watchers, type WatchSelfTest, type WatchSummary } from './watchers.js';

export interface ChaosOptions {
  readonly durationS: number;
  readonly nodes: number;
  readonly seed: number;
  readonly clients: number;
  readonly activeKeys: number;
  readonly opsPerKey: number;
  readonly opTimeoutMs: number;
  readonly thinkMs: number;
  readonly families: readonly FaultFamily[];
  readonly gapMs: readonly [number, number];
  readonly faultMs: readonly [number, number];
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
  readonly serverMain: string;
  readonly workDir: string;
  /** Network-namespace topology tag when running inside one (partitions possible). */
  readonly netnsTag?: string;
  /** Why partitions are off, when they were asked for but cannot be done here. */
  readonly partitionsSkipped?: string;
  readonly checkerTimeoutMs: number;
  /** Self-test: reads served stale but checked as linearizable (see WorkloadOptions.staleReads). */
  readonly staleReads?: boolean;
  /** Membership nemesis: remove voters and add fresh nodes (--join) during the run; its pace. */
  readonly membership?: { readonly gapMs: readonly [number, number]; readonly minVoters: number };
  /** The API clients speak (default raftkv.v1) and what they do (default the register workload). */
  readonly api?: ApiName;
  readonly workload?: WorkloadName;
  /** Bank workload: accounts, each account's initial balance, and the largest transfer. */
  readonly accounts?: number;
  readonly initialBalance?: number;
  readonly maxTransfer?: number;
  /** etcd API: watchers checked by the watch checker (0 = none). */
  readonly watchers?: number;
  /** Lock workload: the lease TTL in seconds. */
  readonly lockTtlS?: number;
  /** Lock self-test: unfenced appends by holders frozen past their TTL (see LockOptions.unfenced). */
  readonly unfenced?: boolean;
  readonly watchSelfTest?: WatchSelfTest;
  readonly log: (line: string) => void;
}

export interface ChaosSummary {
  readonly seed: number;
  readonly nodes: number;
  readonly durationS: number;
  readonly staleReads: boolean;
  readonly api: ApiName;
  readonly workload: WorkloadName;
  readonly partitions: string;
  readonly ops: { total: number; ok: number; fail: number; info: number; byType: Record<string, number> };
  readonly topErrors: readonly [string, number][];
  readonly faults: Record<string, number>;
  readonly nemesis: readonly NemesisEvent[];
  /** Membership changes (with --membership): counts, and the members every member lists at the end. */
  readonly membership?: MembershipCounts & { events: readonly NemesisEvent[]; final: string[]; equal: boolean; error?: string };
  readonly unexpectedExits: readonly UnexpectedExit[];
  readonly keys: number;
  readonly unreadKeys: readonly string[];
  readonly digests: { equal: boolean; perNode: { node: string; appliedIndex: number; digest: string; keyCount: number }[]; error?: string };
  readonly checker: { verdict: CheckResult['verdict']; elapsedMs: number; violations: { key: string; report: string }[] };
  readonly lostWrites: readonly { key: string; report: string }[];
  /** The bank workload's counts (reads by kind, transfers by outcome, revisions seen). */
  readonly bank?: WorkloadVerdict['bank'];
  /** The lock workload's counts (holds, crashes, frozen holders, fenced writes). */
  readonly lock?: WorkloadVerdict['lock'];
  /** The watch checker's verdict and counts (etcd API with --watchers). */
  readonly watch?: WatchSummary;
  /** 'ok' only if every check passed. */
  readonly verdict: 'ok' | 'fail' | 'unknown';
  readonly problems: readonly string[];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosSummary> {
  const t0 = performance.now();
  const clock = (): number => performance.now() - t0;
  const rand = new Random(o.seed);
  const { cluster, topology, addresses } = await makeCluster(o, clock);
  const families = o.families.filter((f) => f !== 'partition' || topology !== undefined);
  const api = o.api ?? 'raftkv';
  const kind = o.workload ?? 'register';
  const bank = { accounts: o.accounts ?? 5, initialBalance: o.initialBalance ?? 100, maxTransfer: o.maxTransfer ?? 20 };
  const workload = makeWorkload(cluster, rand.fork(1), clock, { ...o, ...bank, lockTtlS: o.lockTtlS ?? 2, api, workload: kind });
  const nemesis = new Nemesis(cluster, topology, rand.fork(2), clock, { families, gapMs: o.gapMs, faultMs: o.faultMs }, o.log);
  const members =
    o.membership === undefined
      ? undefined
      : new MemberNemesis(
          cluster,
          rand.fork(3),
          clock,
          { gapMs: o.membership.gapMs, minVoters: o.membership.minVoters, callTimeoutMs: 5000, joinTimeoutMs: 30_000, workDir: o.workDir },
          o.log,
        );
  const watchers =
    api === 'etcd' && ((o.watchers ?? 0) > 0 || workload.needsReference === true)
      ? new Watchers(cluster, rand.fork(4), workload.watchRanges(), o.watchers ?? 0, undefined, o.watchSelfTest)
      : undefined;
  let watch: WatchSummary | undefined;
  let reference: WatchEvent[] | undefined;
  const problems: string[] = [];
  let progress: NodeJS.Timeout | undefined;
  try {
    o.log(
      `chaos: seed ${o.seed}, ${o.nodes} nodes (${addresses.join(' ')}), ${kind} workload over ${api === 'etcd' ? "etcd's KV API" : 'raftkv.v1'}, ${o.durationS} s, faults: ${families.join(', ') || 'none'}${members ? ', membership' : ''}`,
    );
    if (o.partitionsSkipped) o.log(`chaos: partitions SKIPPED: ${o.partitionsSkipped}`);
    cluster.startAll();
    const leader = await cluster.waitForLeader(30_000);
    o.log(`chaos: leader ${cluster.id(leader)} elected at ${(clock() / 1000).toFixed(1)} s; starting ${o.clients} clients and the nemesis`);
    await watchers?.start(30_000);
    await workload.prepare(30_000);

    workload.start();
    nemesis.start();
    members?.start();
    const startedAt = clock();
    progress = setInterval(() => {
      const c = workload.counts();
      o.log(
        `chaos: t=${((clock() - startedAt) / 1000).toFixed(0)} s ops ${c.total} (ok ${c.ok}, failed ${c.fail}, indeterminate ${c.info}); faults ${nemesis.events.length}${members ? `; membership ${JSON.stringify(members.counts().byKind)}` : ''}`,
      );
    }, 10_000);
    await sleep(o.durationS * 1000);

    o.log('chaos: stopping the nemesis and the clients; healing');
    await Promise.all([nemesis.stop(), members?.stop()]);
    await workload.stop();
    clearInterval(progress);
    await nemesis.healAll();
    if (members) problems.push(...(await members.finish(60_000)));
    await settle(cluster, 60_000, o.log);
    o.log('chaos: final reads');
    const unread = await workload.finalReads(60_000);
    if (unread.length > 0) problems.push(`final reads failed for ${unread.length}: ${unread.slice(0, 10).join(', ')}`);
    if (watchers) {
      o.log('chaos: reading the reference history and checking the watchers');
      ({ summary: watch, reference } = await finishWatchers(watchers, workload.ackedWrites(), 60_000));
      if (watch.error !== undefined) problems.push(`watch checker: ${watch.error}`);
      if (watch.violationCount > 0)
        problems.push(`watch checker: ${watch.violationCount} violation(s) ${JSON.stringify(watch.violationsByKind)}`);
    }
    const digests = await compareDigests(cluster, 30_000);
    if (!digests.equal) problems.push(`node state digests differ: ${digests.error ?? ''}`);
    const finalMembers = members ? await compareMemberships(cluster, 30_000) : undefined;
    if (finalMembers && !finalMembers.equal) problems.push(`final membership differs between members: ${finalMembers.error ?? ''}`);
    await cluster.stopAll();

    const exits = cluster.unexpectedExits;
    for (const e of exits)
      problems.push(`node ${e.node} exited on its own (code ${e.code}, signal ${e.signal}) at ${(e.at / 1000).toFixed(1)} s`);

    o.log(`chaos: checking ${workload.counts().total} operations`);
    const v = workload.check(o.checkerTimeoutMs, reference);
    const check = v.checker;
    if (check.verdict === 'violation') {
      problems.push(
        kind === 'bank'
          ? `bank invariants violated ${check.violations.length} time(s)`
          : kind === 'lock'
            ? `lock safety violated ${check.violations.length} time(s)`
            : `linearizability violated on ${check.violations.length} key(s)`,
      );
    }
    if (check.verdict === 'unknown') problems.push('the checker ran out of time on some keys');
    if (v.lostWrites.length > 0) problems.push(`${v.lostWrites.length} acknowledged write(s) lost`);

    return {
      seed: o.seed,
      nodes: o.nodes,
      durationS: o.durationS,
      staleReads: o.staleReads === true,
      api,
      workload: kind,
      partitions: topology ? 'enabled (network namespaces + iptables)' : `skipped: ${o.partitionsSkipped ?? 'not requested'}`,
      ops: v.ops,
      topErrors: workload.errorCounts(),
      faults: nemesis.counts(),
      nemesis: nemesis.events,
      ...(members && finalMembers ? { membership: { ...members.counts(), events: members.events, ...finalMembers } } : {}),
      unexpectedExits: exits,
      keys: v.keys,
      unreadKeys: unread,
      digests,
      checker: {
        verdict: check.verdict,
        elapsedMs: check.elapsedMs,
        violations: check.violations.map((x) => ({
          key: x.key,
          report: x.report + nemesisDuring([...nemesis.events, ...(members?.events ?? [])], x.spans),
        })),
      },
      lostWrites: v.lostWrites,
      ...(v.bank ? { bank: v.bank } : {}),
      ...(v.lock ? { lock: v.lock } : {}),
      ...(watch ? { watch } : {}),
      verdict: problems.length === 0 ? 'ok' : check.verdict === 'unknown' && problems.length === 1 ? 'unknown' : 'fail',
      problems,
    };
  } finally {
    if (progress) clearInterval(progress);
    await nemesis.stop().catch(() => undefined);
    await watchers?.stop().catch(() => undefined);
    await cluster.stopAll(2000).catch(() => undefined);
  }
}

/** Faults active during the failing sub-history's span, to read next to it. */
function nemesisDuring(events: readonly NemesisEvent[], ops: readonly Span[]): string {
  if (ops.length === 0) return '';
  const from = Math.min(...ops.map((o) => o.call));
  const to = Math.max(...ops.map((o) => (o.outcome === 'ok' ? o.ret : o.call)));
  const hits = events.filter((e) => e.at <= to && (e.end ?? Number.POSITIVE_INFINITY) >= from);
  if (hits.length === 0) return '\n  No fault was active during this window.';
  return (
    '\n  Faults active during this window:\n' +
    hits.map((e) => `    [${e.at.toFixed(1)} .. ${e.end?.toFixed(1) ?? 'end'}] ${e.kind} ${e.detail}`).join('\n')
  );
}

/** Waits until a leader exists and every node has applied what the leader committed. */
async function settle(cluster: Cluster, timeoutMs: number, log: (l: string) => void): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = await cluster.statuses(1000);
    const inUse = cluster.inUse().map((i) => ({ i, s: st[i] }));
    const leader = st.find((s) => s?.role === Role.ROLE_LEADER);
    if (leader && inUse.every(({ s }) => s !== undefined && s.appliedIndex >= leader.commitIndex && s.leaderId === leader.id)) return;
    if (Date.now() > end) {
      log(
        `chaos: cluster did not settle within ${timeoutMs} ms: ${inUse.map(({ i, s }) => `${cluster.id(i)}=${s ? `${s.role}/t${s.term}/a${s.appliedIndex}` : 'down'}`).join(' ')}`,
      );
      return;
    }
    await sleep(200);
  }
}

/** Polls every node's digest until all have applied the same index, then compares digests. */
async function compareDigests(cluster: Cluster, timeoutMs: number): Promise<ChaosSummary['digests']> {
  const end = Date.now() + timeoutMs;
  let last: ChaosSummary['digests']['perNode'] = [];
  let error = '';
  for (;;) {
    try {
      const slots = cluster.inUse();
      const ds = await Promise.all(slots.map((i) => cluster.digest(i)));
      last = ds.map((d, k) => ({ node: cluster.id(slots[k]!), appliedIndex: d.appliedIndex, digest: d.digest, keyCount: d.keyCount }));
      if (last.every((d) => d.appliedIndex === last[0]!.appliedIndex)) {
        const equal = last.every((d) => d.digest === last[0]!.digest);
        return equal
          ? { equal, perNode: last }
          : {
              equal,
              perNode: last,
              error: `at applied index ${last[0]!.appliedIndex}: ${last.map((d) => `${d.node}=${d.digest.slice(0, 12)} (${d.keyCount} keys)`).join(' ')}`,
            };
      }
      error = `applied indexes never converged: ${last.map((d) => `${d.node}=${d.appliedIndex}`).join(' ')}`;
    } catch (e) {
      error = `Digest call failed: ${(e as Error).message}`;
    }
    if (Date.now() > end) return { equal: false, perNode: last, error };
    await sleep(200);
  }
}

/** ListMembers on every member: all must list the same members, and exactly the nodes the slots hold. */
async function compareMemberships(cluster: Cluster, timeoutMs: number): Promise<{ final: string[]; equal: boolean; error?: string }> {
  const end = Date.now() + timeoutMs;
  const expected = cluster
    .inUse()
    .map((i) => `${cluster.id(i)}@${cluster.address(i)}`)
    .sort();
  let error = '';
  let final: string[] = [];
  for (;;) {
    try {
      const slots = cluster.inUse();
      const views = await Promise.all(slots.map((i) => cluster.listMembers(i, 2000)));
      const lists = views.map((v) => v.members.map((m) => `${m.id}@${m.address}${m.voter ? '' : ' (learner)'}`).sort());
      final = lists[0] ?? [];
      const same = lists.every((l) => l.join(' ') === final.join(' '));
      if (same && final.join(' ') === expected.join(' ')) return { final, equal: true };
      error = same
        ? `every member lists ${final.join(' ')}, the harness expected ${expected.join(' ')}`
        : slots.map((i, k) => `${cluster.id(i)}: [${lists[k]!.join(' ')}] at ${views[k]!.appliedIndex}`).join('; ');
    } catch (e) {
      error = `ListMembers failed: ${(e as Error).message}`;
    }
    if (Date.now() > end) return { final, equal: false, error };
    await sleep(200);
  }
}
