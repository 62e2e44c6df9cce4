// A short chaos run with the membership nemesis: voters removed (stopped, wiped) and fresh nodes added
// with --join while kill -9, SIGSTOP and (as root) partitions keep happening; then every check, plus
// the same final membership on every member.
import type { ChaosSummary } from '../src/harness/run.js';
import { expectAllChecksPassed, interruptAll, runCli } from './support/cli.js';

afterAll(interruptAll);

test('membership changes under faults keep every promise', async () => {
  const {
    code,
    output,
    result: s,
  } = await runCli<ChaosSummary>([
    '--membership',
    '--duration',
    '35',
    '--gap-ms',
    '500-2000',
    '--fault-ms',
    '1000-3000',
    '--member-gap-ms',
    '1500-3500',
  ]);
  expectAllChecksPassed(code, output, s);
  const m = s.membership!;
  expect(m.equal).toBe(true);
  // Between 3 and 5 voters at the end, every one of them a node the harness runs.
  expect(m.final.length).toBeGreaterThanOrEqual(3);
  expect(m.final.length).toBeLessThanOrEqual(5);
  expect(m.final.every((x) => !x.includes('learner'))).toBe(true);
  expect(s.digests.perNode.length).toBe(m.final.length);
  // The run really changed the membership both ways, and served operations meanwhile.
  expect(m.byKind['remove done'] ?? 0).toBeGreaterThanOrEqual(1);
  expect(m.byKind['add done'] ?? 0).toBeGreaterThanOrEqual(1);
  expect(s.ops.ok).toBeGreaterThan(200);
}, 300_000);
