import type { ChaosSummary } from './run.js';

const MAX_REPORTS = 20;

/** The run's summary as text: counts, faults, verdicts, and on a violation the evidence and the seed. */
export function formatSummary(s: ChaosSummary): string {
  const faults = Object.entries(s.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const byType = Object.entries(s.ops.byType)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    '',
    '==== chaos summary ====',
    `workload ${s.workload} over ${s.api === 'etcd' ? "etcd's KV API" : 'raftkv.v1'}`,
    `seed ${s.seed}   nodes ${s.nodes}   duration ${s.durationS} s   partitions: ${s.partitions}${s.staleReads ? '   SELF-TEST: stale reads checked as linearizable' : ''}`,
    `operations: ${s.ops.total} (ok ${s.ops.ok}, failed ${s.ops.fail}, indeterminate ${s.ops.info}; ${byType}) over ${s.keys} keys`,
    ...s.topErrors.map(([e, n]) => `  ${String(n).padStart(6)} × ${e}`),
    `faults: ${faults || 'none'} (total ${s.nemesis.length})`,
    ...(s.membership ? membershipLines(s.membership) : []),
    ...(s.bank ? bankLines(s.bank) : []),
    ...(s.lock ? lockLines(s.lock) : []),
    `${s.bank ? 'bank invariants' : s.lock ? 'lock safety (fencing tokens)' : 'linearizability'}: ${s.checker.verdict.toUpperCase()} (checked in ${(s.checker.elapsedMs / 1000).toFixed(2)} s)`,
    ...(s.watch ? watchLines(s.watch) : []),
    `acknowledged writes lost: ${s.lostWrites.length}`,
    `node digests: ${s.digests.equal ? `equal on all ${s.digests.perNode.length} nodes at applied index ${s.digests.perNode[0]?.appliedIndex ?? '?'} (${s.digests.perNode[0]?.keyCount ?? '?'} keys)` : `NOT EQUAL: ${s.digests.error ?? ''}`}`,
    `unexpected node exits: ${s.unexpectedExits.length}`,
  ];
  // A broken store can show thousands of bank violations: the first ones are enough to read (the JSON has all).
  const shown = s.checker.violations.slice(0, MAX_REPORTS);
  for (const v of shown) lines.push('', v.report);
  if (shown.length < s.checker.violations.length)
    lines.push('', `... and ${s.checker.violations.length - shown.length} more violations (--json FILE has them all)`);
  // The bank's lost transfers are among its violations already.
  if (s.bank === undefined) for (const l of s.lostWrites) lines.push('', l.report);
  for (const r of s.watch?.violations ?? []) lines.push('', r);
  for (const e of s.unexpectedExits)
    lines.push(
      '',
      `node ${e.node} exited on its own (code ${e.code}, signal ${e.signal}); last log lines:`,
      ...e.log.map((l) => `    ${l}`),
    );
  lines.push('', `VERDICT: ${s.verdict.toUpperCase()}${s.problems.length ? ` — ${s.problems.join('; ')}` : ''}`);
  const how =
    (s.api === 'raftkv' && s.workload === 'register' ? '' : ` --api ${s.api} --workload ${s.workload}`) +
    (s.watch ? ` --watchers ${s.watch.watchers}` : '');
  if (s.verdict !== 'ok')
    lines.push(
      `replay with: scripts/chaos${how} --seed ${s.seed} --nodes ${s.nodes} --duration ${s.durationS}${s.staleReads ? ' --stale-reads' : ''}${s.membership ? ' --membership' : ''}`,
    );
  return lines.join('\n');
}

function bankLines(b: NonNullable<ChaosSummary['bank']>): string[] {
  const revs = b.revisions === null ? 'none' : `${b.revisions[0]}..${b.revisions[1]}`;
  return [
    `bank: ${b.accounts} accounts, total ${b.total}; reads ok ${b.reads.ok} (linearizable ${b.reads.linearizable}, serializable ${b.reads.serializable}), failed ${b.reads.fail}; revisions read ${revs}`,
    `      transfers ok ${b.transfers.ok}, failed ${b.transfers.fail}, indeterminate ${b.transfers.info}; final read ${b.finalRead ? 'ok' : 'FAILED'}`,
  ];
}

function membershipLines(m: NonNullable<ChaosSummary['membership']>): string[] {
  const kinds = Object.entries(m.byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `membership changes: done ${m.done}, refused ${m.refused}, indeterminate ${m.indeterminate}${kinds ? ` (${kinds})` : ''}`,
    `final membership: ${m.equal ? `identical on every member: ${m.final.join(' ')}` : `NOT IDENTICAL: ${m.error ?? ''}`}`,
  ];
}

function watchLines(w: NonNullable<ChaosSummary['watch']>): string[] {
  const errs = Object.entries(w.streamErrors)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([e, n]) => `      ${String(n).padStart(6)} × ${e}`);
  return [
    `watch checker: ${w.verdict.toUpperCase()}: ${w.watchers} watchers, ${w.eventsChecked} events checked against ` +
      `${w.referenceEvents} reference events, ${w.reconnects} reconnects; violations ${w.violationCount}` +
      `${w.violationCount ? ` ${JSON.stringify(w.violationsByKind)}` : ''}${w.error ? `; ${w.error}` : ''}`,
    ...(w.lagging.length ? [`      lagging at the end: ${w.lagging.join(', ')}`] : []),
    ...(errs.length ? ['      stream endings besides rotations:', ...errs] : []),
  ];
}

function lockLines(l: NonNullable<ChaosSummary['lock']>): string[] {
  return [
    `lock: ttl ${l.ttlS} s; holds ${l.acquired} (released ${l.released}, holder crashed ${l.crashed}, ` +
      `holder frozen past its TTL ${l.frozen}), waits by watch ${l.waitedByWatch}`,
    `      log writes in the history ${l.logWrites} from ${l.holdsThatWrote} holds, acknowledged ${l.acknowledged}; ` +
      `frozen holders' writes refused ${l.zombieRefused}, accepted ${l.zombieAccepted}; holders that found the lock gone ${l.lostLock}`,
  ];
}
