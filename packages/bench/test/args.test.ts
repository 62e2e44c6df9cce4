import { parseDurationMs, parseOptions, parseWorkload, UsageError } from '../src/args.js';
import { pickKind } from '../src/generator.js';

describe('parseOptions', () => {
  test('defaults: both systems, the standard sweep, 128 B puts for 5 s', () => {
    const o = parseOptions([]);
    expect(o.systems).toEqual(['raftkv', 'etcd']);
    expect(o.levels).toEqual([1, 16, 64, 256]);
    expect(o.durationMs).toBe(5000);
    expect(o.countPerRun).toBeUndefined();
    expect(o.valueBytes).toBe(128);
    expect(o.workloads.map((w) => w.name)).toEqual(['put']);
    expect(o.keys).toBe('unique');
    expect(o.inflightPerChannel).toBe(16);
    expect(o.client).toBe('grpc-js');
    expect(o.json).toBe(false);
    expect(o.progress).toBe(true);
    expect(o.endpoints).toEqual({});
    expect(o.api).toBe('raftkv');
    expect(o.rounds).toBe(1);
    expect(o.rangeKeys).toBe(100);
  });

  test('--api etcd: range and txn workloads; --rounds', () => {
    const o = parseOptions(['--api', 'etcd', '--workload', 'range', '--workload', 'txn', '--rounds', '3', '--range-keys', '10']);
    expect(o.api).toBe('etcd');
    expect(o.rounds).toBe(3);
    expect(o.rangeKeys).toBe(10);
    expect(o.workloads.map((w) => w.mix)).toEqual([
      { put: 0, read: 0, stale: 0, cas: 0, range: 1, txn: 0 },
      { put: 0, read: 0, stale: 0, cas: 0, range: 0, txn: 1 },
    ]);
    // etcd alone speaks its own API whatever --api says.
    expect(parseOptions(['--target', 'etcd', '--workload', 'txn']).workloads[0]?.name).toBe('txn');
  });

  test('a full command line', () => {
    const o = parseOptions([
      '--target',
      'raftkv',
      '--endpoints',
      '127.0.0.1:7001,http://127.0.0.1:7002',
      '--levels',
      '1,4',
      '--count',
      '500',
      '--workload',
      'read',
      '--workload',
      'put=90,cas=10',
      '--keys',
      'hot',
      '--hot-keys',
      '3',
      '--json',
      '--no-progress',
      '--client',
      'h2',
      '--warmup',
      '250ms',
    ]);
    expect(o.systems).toEqual(['raftkv']);
    expect(o.endpoints.raftkv).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    expect(o.levels).toEqual([1, 4]);
    expect(o.countPerRun).toBe(500);
    expect(o.workloads[0]?.mix).toEqual({ put: 0, read: 1, stale: 0, cas: 0, range: 0, txn: 0 });
    expect(o.workloads[1]?.mix).toEqual({ put: 90, read: 0, stale: 0, cas: 10, range: 0, txn: 0 });
    expect(o.keys).toBe('hot');
    expect(o.hotKeys).toBe(3);
    expect(o.json).toBe(true);
    expect(o.progress).toBe(false);
    expect(o.client).toBe('h2');
    expect(o.warmupMs).toBe(250);
  });

  test.each([
    [['--target', 'zookeeper'], /--target/],
    [['--levels', '1,0'], /--levels/],
    [['--levels', '1,x'], /--levels/],
    [['--duration', 'soon'], /--duration/],
    [['--endpoints', '127.0.0.1:1'], /--endpoints: needs --target/],
    [['--target', 'etcd', '--endpoints', 'nohost'], /--endpoints/],
    [['--workload', 'scan'], /--workload/],
    [['--workload', 'put=0'], /--workload/],
    [['--keys', 'zipf'], /--keys/],
    [['--profile', '--target', 'etcd'], /--profile/],
    [['--bogus'], /bogus/],
    [['--api', 'redis'], /--api/],
    [['--rounds', '0'], /--rounds/],
    [['--range-keys', '0'], /--range-keys/],
    [['--workload', 'range'], /--workload range: .*--api etcd/],
    [['--target', 'raftkv', '--workload', 'put=9,txn=1'], /--workload put=9,txn=1: .*--api etcd/],
  ])('%j is a usage error naming the flag', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
    expect(() => parseOptions(argv)).toThrow(message);
  });

  test('durations', () => {
    expect(parseDurationMs('d', '500ms')).toBe(500);
    expect(parseDurationMs('d', '2')).toBe(2000);
    expect(parseDurationMs('d', '1.5s')).toBe(1500);
    expect(parseDurationMs('d', '2m')).toBe(120_000);
  });
});

describe('operation mix', () => {
  test('pickKind follows the weights', () => {
    const mix = parseWorkload('put=1,read=3').mix;
    expect(pickKind(mix, 0)).toBe('put');
    expect(pickKind(mix, 0.24)).toBe('put');
    expect(pickKind(mix, 0.26)).toBe('read');
    expect(pickKind(mix, 0.999)).toBe('read');
    expect(pickKind(parseWorkload('stale').mix, 0.5)).toBe('stale');
  });
});
