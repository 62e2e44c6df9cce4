// Short chaos runs on etcd's KV API (kill -9, SIGSTOP and, as root, partitions against a 3-node
// cluster): Jepsen's bank workload must keep its invariants, and put/get/txn on several keys must be
// linearizable, with nothing acknowledged lost and every node's state digest equal at the end; the
// watchers running meanwhile must see exactly the writes to their ranges (and a dropped event fails).
import type { ChaosSummary } from '../src/harness/run.js';
import { expectAllChecksPassed, interruptAll, runCli } from './support/cli.js';

afterAll(interruptAll);

const faults = ['--duration', '15', '--nodes', '3', '--gap-ms', '300-1000', '--fault-ms', '1000-3000'];

function expectFaultsInjected(s: ChaosSummary): void {
  const kinds = Object.keys(s.faults);
  expect(kinds.some((k) => k.startsWith('kill'))).toBe(true);
  expect(kinds.some((k) => k.startsWith('pause'))).toBe(true);
  if (s.partitions.startsWith('enabled')) expect(kinds.some((k) => k.startsWith('partition'))).toBe(true);
  else console.warn(`etcd chaos run without partitions: ${s.partitions}`);
}

test('bank workload over etcd: every read sums to the total, no negative balance, no transfer lost', async () => {
  const { code, output, result: s } = await runCli<ChaosSummary>(['--api', 'etcd', '--workload', 'bank', ...faults]);
  expectAllChecksPassed(code, output, s);
  expectFaultsInjected(s);
  const b = s.bank!;
  expect(b.finalRead).toBe(true);
  expect(b.transfers.ok).toBeGreaterThan(30);
  expect(b.reads.linearizable).toBeGreaterThan(30);
  expect(b.reads.serializable).toBeGreaterThan(30);
  // The default watchers: every one saw exactly the writes to its range, across reconnects.
  expect(s.watch?.verdict).toBe('ok');
  expect(s.watch!.watchers).toBe(3);
  expect(s.watch!.eventsChecked).toBeGreaterThan(50);
  expect(s.watch!.reconnects).toBeGreaterThan(0);
}, 240_000);

test('watch checker self-test: a watcher that drops one response makes the run FAIL', async () => {
  const { code, result: s } = await runCli<ChaosSummary>([
    ...['--api', 'etcd', '--workload', 'bank', '--watchers', '2', '--watch-self-test', 'drop'],
    ...['--duration', '8', '--nodes', '3', '--faults', 'kill', '--gap-ms', '1000-2000', '--fault-ms', '1000-2000'],
  ]);
  expect(code).toBe(1);
  expect(s.verdict).toBe('fail');
  expect(s.watch?.verdict).toBe('violation');
  expect(s.watch!.violationsByKind.missing).toBeGreaterThan(0);
  expect(s.checker.verdict).toBe('ok');
}, 240_000);

test('register workload over etcd: put, range and txn compare-and-swap are linearizable per key', async () => {
  const { code, output, result: s } = await runCli<ChaosSummary>(['--api', 'etcd', '--workload', 'register', ...faults]);
  expectAllChecksPassed(code, output, s);
  expectFaultsInjected(s);
  expect(s.api).toBe('etcd');
  expect(s.ops.ok).toBeGreaterThan(200);
  expect(s.ops.byType.cas ?? 0).toBeGreaterThan(20);
}, 240_000);
