// Auto-compaction: etcd's flags as etcd reads them, and the schedules (only the leader proposes; periodic
// compacts at the revision it saw `retention` ago; revision keeps the last N revisions).
import { ConfigError } from '../src/errors.js';
import { AutoCompactor, DEFAULT_AUTO_COMPACTION, parseAutoCompaction, type AutoCompaction } from '../src/node/auto-compaction.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('--auto-compaction-mode / --auto-compaction-retention', () => {
  test('default: periodic, 5 minutes', () => {
    expect(parseAutoCompaction(undefined, undefined)).toEqual({ mode: 'periodic', retentionMs: 300_000 });
    expect(DEFAULT_AUTO_COMPACTION).toEqual({ mode: 'periodic', retentionMs: 300_000 });
  });
  test('periodic takes durations or a bare number of hours; 0 is off', () => {
    expect(parseAutoCompaction('periodic', '1h')).toEqual({ mode: 'periodic', retentionMs: 3_600_000 });
    expect(parseAutoCompaction('periodic', '1h30m')).toEqual({ mode: 'periodic', retentionMs: 5_400_000 });
    expect(parseAutoCompaction(undefined, '2')).toEqual({ mode: 'periodic', retentionMs: 7_200_000 });
    expect(parseAutoCompaction('periodic', '0')).toEqual({ mode: 'off' });
  });
  test('revision takes a number of revisions', () => {
    expect(parseAutoCompaction('revision', '1000')).toEqual({ mode: 'revision', retentionRevisions: 1000 });
    expect(parseAutoCompaction('revision', '0')).toEqual({ mode: 'off' });
  });
  test('bad values name the flag', () => {
    expect(() => parseAutoCompaction('daily', '1h')).toThrow(ConfigError);
    expect(() => parseAutoCompaction('daily', '1h')).toThrow('--auto-compaction-mode: must be periodic or revision');
    expect(() => parseAutoCompaction('revision', '1h')).toThrow('--auto-compaction-retention: must be a number of revisions');
    expect(() => parseAutoCompaction('periodic', 'soon')).toThrow('--auto-compaction-retention: must be a duration');
    expect(() => parseAutoCompaction('revision', undefined)).toThrow('--auto-compaction-retention: is required');
  });
});

describe('AutoCompactor', () => {
  const make = (policy: AutoCompaction, leader = true) => {
    const s = { rev: 1, compacted: -1, leader, proposed: [] as number[] };
    const c = new AutoCompactor(policy, {
      revision: () => s.rev,
      compacted: () => s.compacted,
      isLeader: () => s.leader,
      propose: (rev) => {
        s.proposed.push(rev);
        s.compacted = rev;
        return Promise.resolve();
      },
      onError: (_rev, e) => {
        throw e;
      },
    });
    return { s, c };
  };

  test('periodic: after the retention, compacts at the revision seen that long ago; then every min(retention, 1h)', async () => {
    const { s, c } = make({ mode: 'periodic', retentionMs: 10_000 });
    const t0 = 1000; // whole milliseconds: the test compares sums of them exactly
    s.rev = 5;
    c.start(t0); // samples 5 now
    c.stop(); // the test drives the steps
    // Steps every retention/10 = 1 s; the revision grows by 10 per second.
    for (let i = 1; i <= 9; i++) {
      s.rev += 10;
      c.step(t0 + i * 1000);
      await flush();
    }
    expect(s.proposed).toEqual([]); // 9 s: not yet
    s.rev += 10;
    c.step(t0 + 10_000);
    await flush();
    expect(s.proposed).toEqual([5]); // the revision of 10 s ago
    for (let i = 11; i <= 20; i++) {
      s.rev += 10;
      c.step(t0 + i * 1000);
      await flush();
    }
    // Next 10 s later, at the oldest of the samples kept (retention / step + 1 of them, as etcd).
    expect(s.proposed).toEqual([5, 95]);
  });

  test('revision: keeps the last N revisions, only on the leader, only when it moved', async () => {
    const { s, c } = make({ mode: 'revision', retentionRevisions: 100 }, false);
    c.start();
    c.stop();
    s.rev = 250;
    c.step();
    await flush();
    expect(s.proposed).toEqual([]); // a follower never proposes
    s.leader = true;
    c.step();
    await flush();
    expect(s.proposed).toEqual([150]);
    c.step();
    await flush();
    expect(s.proposed).toEqual([150]);
    s.rev = 260;
    c.step();
    await flush();
    expect(s.proposed).toEqual([150, 160]);
  });
});
