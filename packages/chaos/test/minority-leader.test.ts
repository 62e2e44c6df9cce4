// A leader cut off with a minority (network namespaces as root; otherwise its followers are frozen)
// must stop serving linearizable reads and writes within an election timeout and answer UNAVAILABLE.
import { interruptAll, runCli } from './support/cli.js';

afterAll(interruptAll);

interface Result {
  passed: boolean;
  problems: string[];
  mode: string;
  stepDownMs?: number;
  electionTimeoutMaxMs: number;
  probesAfterStepDown: number;
  okReadsAfterCut: unknown[];
  probes: { f: string; call: number; ret: number; code: string }[];
  verdict: string;
}

test('a leader in the minority steps down and clients get UNAVAILABLE, never a stale answer', async () => {
  const { output, result: r } = await runCli<Result>(['scenario', 'minority-leader', '--nodes', '5']);
  if (!r.passed) console.log(output);
  // CheckQuorum: a leader checks every election timeout; allow two, plus scheduling slack on a busy machine.
  expect(r.stepDownMs).toBeDefined();
  expect(r.stepDownMs!).toBeLessThan(2 * r.electionTimeoutMaxMs + 500);
  // No read through the cut-off leader is served (ReadIndex needs a quorum), no write acknowledged.
  expect(r.okReadsAfterCut).toEqual([]);
  expect(r.probes.filter((p) => p.code === 'OK')).toEqual([]);
  // Once it stepped down, every call answers UNAVAILABLE before the caller's deadline.
  expect(r.probesAfterStepDown).toBeGreaterThan(0);
  const afterStepDown = r.probes.filter((p) => p.call > r.stepDownMs!);
  expect([...new Set(afterStepDown.map((p) => p.code))]).toEqual(['UNAVAILABLE']);
  expect(r.verdict).toBe('ok');
  expect(r.problems).toEqual([]);
}, 180_000);
