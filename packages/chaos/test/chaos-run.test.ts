// The CI chaos run: about a minute of kill -9, SIGSTOP and (as root) network partitions against a
// real 3-node cluster under concurrent clients, then the full set of checks.
import type { ChaosSummary } from '../src/harness/run.js';
import { expectAllChecksPassed, interruptAll, isRoot, runCli } from './support/cli.js';

afterAll(interruptAll);

test('a short chaos run keeps every promise', async () => {
  const {
    code,
    output,
    result: s,
  } = await runCli<ChaosSummary>(['--duration', '40', '--nodes', '3', '--gap-ms', '500-2000', '--fault-ms', '1000-3000']);
  if (!s.partitions.startsWith('enabled')) console.warn(`chaos run without partitions: ${s.partitions}`);
  expectAllChecksPassed(code, output, s);
  // The run really did something: operations succeeded and every kind of fault was injected.
  expect(s.ops.ok).toBeGreaterThan(200);
  const kinds = Object.keys(s.faults);
  expect(kinds.some((k) => k.startsWith('kill'))).toBe(true);
  expect(kinds.some((k) => k.startsWith('pause'))).toBe(true);
  // Partitions need root and network namespaces; where they are unavailable the run says why.
  if (s.partitions.startsWith('enabled')) expect(kinds.some((k) => k.startsWith('partition'))).toBe(true);
  else if (isRoot) console.warn(`running as root, yet partitions were skipped: ${s.partitions}`);
}, 300_000);

test('the harness catches a real violation: stale reads checked as linearizable fail the run', async () => {
  const { code, result: s } = await runCli<ChaosSummary>([
    '--duration',
    '25',
    '--nodes',
    '3',
    '--gap-ms',
    '500-1500',
    '--fault-ms',
    '2000-4000',
    '--stale-reads',
  ]);
  expect(code).toBe(1);
  expect(s.verdict).toBe('fail');
  expect(s.checker.verdict).toBe('violation');
  expect(s.checker.violations.length).toBeGreaterThan(0);
  // Each report is a small, self-contained failing sub-history with the faults around it.
  for (const v of s.checker.violations) {
    expect(v.report).toContain('not linearizable');
    expect(v.report).toMatch(/No order places this completed operation consistently|Longest linearization/);
  }
}, 300_000);
