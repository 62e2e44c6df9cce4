// Short chaos runs of the lock workload on etcd's API: holders of etcd's lease-backed lock, some of
// them crashing or freezing past their TTL while nodes are killed, paused and (as root) partitioned,
// never write under overlapping holds; the same run without the fencing compare must FAIL.
import type { ChaosSummary } from '../src/harness/run.js';
import { expectAllChecksPassed, interruptAll, runCli } from './support/cli.js';

afterAll(interruptAll);

test('lock workload: fencing tokens only from the holder of the moment, in order; nothing acknowledged lost', async () => {
  const {
    code,
    output,
    result: s,
  } = await runCli<ChaosSummary>([
    ...['--api', 'etcd', '--workload', 'lock', '--watchers', '2', '--seed', '7'],
    ...['--duration', '20', '--nodes', '3', '--gap-ms', '500-1500', '--fault-ms', '1000-3000'],
  ]);
  expectAllChecksPassed(code, output, s);
  const l = s.lock!;
  expect(l.acquired).toBeGreaterThan(3);
  expect(l.logWrites).toBeGreaterThan(3);
  expect(l.holdsThatWrote).toBeGreaterThan(2);
  expect(s.watch?.verdict).toBe('ok');
  expect(Object.keys(s.faults).length).toBeGreaterThan(0);
}, 240_000);

test('lock self-test: holders frozen past their TTL writing without the fencing compare make the run FAIL', async () => {
  const { code, result: s } = await runCli<ChaosSummary>([
    ...['--api', 'etcd', '--workload', 'lock', '--unfenced', '--watchers', '1'],
    ...['--duration', '10', '--nodes', '3', '--faults', ''],
  ]);
  expect(code).toBe(1);
  expect(s.checker.verdict).toBe('violation');
  expect(s.checker.violations.some((v) => v.key === 'not-holder')).toBe(true);
  expect(s.lock!.zombieAccepted).toBeGreaterThan(0);
}, 240_000);
