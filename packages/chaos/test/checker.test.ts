import { checkHistory, checkRegister, type Operation } from '../src/checker/index.js';
import { HistoryBuilder, generateLinearizable } from './support/histories.js';

const verdict = (ops: readonly Operation[]): string => checkHistory(ops).verdict;

describe('linearizable histories pass', () => {
  test('empty history', () => {
    expect(verdict([])).toBe('ok');
  });

  test('sequential put then read', () => {
    const h = new HistoryBuilder().read(1, 0, 1, null).put(1, 2, 3, 'a').read(2, 4, 5, 'a');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('a read concurrent with a put may see either value', () => {
    const old = new HistoryBuilder().put(1, 0, 1, 'a').put(1, 2, 10, 'b').read(2, 3, 4, 'a').read(3, 5, 6, 'b');
    expect(verdict(old.ops)).toBe('ok');
  });

  test('concurrent puts may take effect in either order', () => {
    const h = new HistoryBuilder().put(1, 0, 10, 'a').put(2, 0, 10, 'b').read(3, 11, 12, 'a');
    expect(verdict(h.ops)).toBe('ok');
    const h2 = new HistoryBuilder().put(1, 0, 10, 'a').put(2, 0, 10, 'b').read(3, 11, 12, 'b');
    expect(verdict(h2.ops)).toBe('ok');
  });

  test('an indeterminate put may take effect long after it was abandoned', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(2, 2, 3, 'b', 'info').read(3, 10, 11, 'a').read(3, 20, 21, 'b');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('an indeterminate put may never take effect', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(2, 2, 3, 'b', 'info').read(3, 10, 11, 'a').read(3, 20, 21, 'a');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('failed operations never happened', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(2, 2, 3, 'b', 'fail').read(3, 4, 5, 'a');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('compare-and-swap: success, failure with current value, expect-absent', () => {
    const h = new HistoryBuilder()
      .cas(1, 0, 1, null, 'a', true)
      .cas(2, 2, 3, null, 'x', false, 'a')
      .cas(1, 4, 5, 'a', 'b', true)
      .cas(2, 6, 7, 'a', 'c', false, 'b')
      .cas(2, 6.5, 7.5, 'a', 'c', false)
      .read(3, 8, 9, 'b');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('two concurrent CAS from the same value: exactly one may win', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(1, 2, 5, 'a', 'b', true).cas(2, 2, 5, 'a', 'c', false, 'b').read(3, 6, 7, 'b');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('an indeterminate CAS explains a later value', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(2, 2, 3, 'a', 'b', 'info').read(3, 4, 5, 'b');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('delete then read absent; put after delete', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').del(1, 2, 3).read(2, 4, 5, null).put(2, 6, 7, 'b').read(1, 8, 9, 'b');
    expect(verdict(h.ops)).toBe('ok');
  });

  test('operations touching at an instant count as concurrent', () => {
    const h = new HistoryBuilder().put(1, 0, 5, 'a').read(2, 5, 6, null);
    expect(verdict(h.ops)).toBe('ok');
  });

  test('keys are independent registers', () => {
    const h = new HistoryBuilder()
      .put(1, 0, 1, 'a', 'ok', 'x')
      .put(1, 2, 3, 'b', 'ok', 'y')
      .read(2, 4, 5, 'a', 'x')
      .read(2, 6, 7, 'b', 'y');
    const r = checkHistory(h.ops);
    expect(r.verdict).toBe('ok');
    expect(r.keys.map((k) => k.key)).toEqual(['x', 'y']);
  });

  test('random linearizable histories with indeterminate writes pass', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const ops = generateLinearizable(seed, 300, 5, ['a', 'b', 'c']);
      expect([seed, verdict(ops)]).toEqual([seed, 'ok']);
    }
  });
});

describe('non-linearizable histories fail', () => {
  test('stale read: a read after a completed overwrite returns the old value', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(1, 2, 3, 'b').read(2, 4, 5, 'a');
    const r = checkHistory(h.ops);
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.key).toBe('k');
  });

  test('lost write: an acknowledged put is not seen by a later read', () => {
    const h = new HistoryBuilder().read(2, 0, 1, null).put(1, 2, 3, 'a').read(2, 4, 5, null);
    expect(verdict(h.ops)).toBe('violation');
  });

  test('impossible order: readers see the new value and then the old one again', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(1, 2, 10, 'b').read(2, 3, 4, 'b').read(3, 5, 6, 'a');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('impossible order of two writes seen differently by two readers', () => {
    const h = new HistoryBuilder().put(1, 0, 10, 'a').put(2, 0, 10, 'b').read(3, 11, 12, 'a').read(4, 13, 14, 'b').read(3, 15, 16, 'a');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('CAS against a value nobody wrote succeeds', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(2, 2, 3, 'zz', 'b', true);
    expect(verdict(h.ops)).toBe('violation');
  });

  test('expect-absent CAS succeeds on a present key', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(2, 2, 3, null, 'b', true);
    expect(verdict(h.ops)).toBe('violation');
  });

  test('CAS fails although its expectation held', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(2, 2, 3, 'a', 'b', false);
    expect(verdict(h.ops)).toBe('violation');
  });

  test('failed CAS reports a current value that was never there', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(2, 2, 3, 'q', 'b', false, 'zz');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('two sequential CAS both succeed from the same value (double apply)', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').cas(1, 2, 3, 'a', 'b', true).cas(2, 4, 5, 'a', 'c', true);
    expect(verdict(h.ops)).toBe('violation');
  });

  test('read of a value whose indeterminate write was invoked only after the read completed', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').read(2, 2, 3, 'b').put(3, 4, 5, 'b', 'info');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('read of a value from a definitely failed write', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(2, 2, 3, 'b', 'fail').read(3, 4, 5, 'b');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('read of a deleted value after the delete completed', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').del(1, 2, 3).read(2, 4, 5, 'a');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('an indeterminate write seen, then gone, then seen again', () => {
    const h = new HistoryBuilder().put(1, 0, 1, 'a').put(2, 2, 3, 'b', 'info').read(3, 4, 5, 'b').read(3, 6, 7, 'a');
    expect(verdict(h.ops)).toBe('violation');
  });

  test('a violation on one key fails the whole history even if the other keys are fine', () => {
    const h = new HistoryBuilder()
      .put(1, 0, 1, 'a', 'ok', 'good')
      .read(2, 2, 3, 'a', 'good')
      .put(1, 4, 5, 'x', 'ok', 'bad')
      .read(2, 6, 7, null, 'bad');
    const r = checkHistory(h.ops);
    expect(r.verdict).toBe('violation');
    expect(r.violations.map((v) => v.key)).toEqual(['bad']);
  });
});

describe('violation reports', () => {
  test('a stale read buried in a long history shrinks to a handful of operations', () => {
    const ops = generateLinearizable(7, 1000, 5, ['k'], 0.01);
    const last = ops.reduce((m, o) => Math.max(m, o.ret), 0);
    // Append: "old" then "fresh" are written and read, then a read returns "old" again - a stale read.
    const tail = new HistoryBuilder()
      .put(9, last + 98, last + 99, 'old')
      .put(9, last + 100, last + 101, 'fresh')
      .read(9, last + 102, last + 103, 'fresh')
      .read(8, last + 104, last + 105, 'old');
    const h = [...ops, ...tail.ops.map((o, i) => ({ ...o, id: 10_000 + i }))];
    const r = checkHistory(h);
    expect(r.verdict).toBe('violation');
    const v = r.violations[0]!;
    expect(v.minimal.length).toBeLessThanOrEqual(4);
    expect(checkRegister(v.minimal, { anyInitialState: v.fromAnyValue }).verdict).toBe('violation'); // fails on its own
    expect(checkRegister(v.minimal).verdict).toBe('violation');
    expect(v.minimal.some((o) => o.id === 10_003)).toBe(true); // the stale read is in it
    expect(v.report).toContain('not linearizable');
    expect(v.report).toContain('#10003');
  });

  test('the minimal sub-history of a lost write names the write and the read', () => {
    const h = new HistoryBuilder()
      .put(1, 0, 1, 'a')
      .read(2, 2, 3, 'a')
      .read(3, 2.5, 3.5, 'a')
      .put(1, 4, 5, 'b')
      .read(2, 6, 7, 'a')
      .read(3, 8, 9, 'b');
    const r = checkHistory(h.ops);
    expect(r.verdict).toBe('violation');
    // put "b" then read "a" is impossible whatever came before: that window is all it takes.
    const ids = r.violations[0]!.minimal.map((o) => o.id).sort();
    expect(ids).toEqual([3, 4]);
    expect(r.violations[0]!.fromAnyValue).toBe(true);
    expect(r.violations[0]!.stuck?.id).toBe(4);
  });
});

describe('minimal sub-histories', () => {
  test('a violation that needs the initial absent state is reported as such', () => {
    const h = new HistoryBuilder().read(1, 0, 1, 'ghost').read(2, 2, 3, null);
    const v = checkHistory(h.ops).violations[0]!;
    expect(v.fromAnyValue).toBe(false);
    expect(v.minimal.map((o) => o.id)).toEqual([0]);
    expect(v.report).toContain('starting from an absent key');
  });

  test('a CAS that swapped from a value nobody wrote, in the middle of a busy history', () => {
    const ops = generateLinearizable(11, 600, 4, ['k'], 0);
    const mid = ops[300]!;
    const bad = new HistoryBuilder().cas(99, mid.call, mid.call + 0.5, 'never-written', 'x', true).ops[0]!;
    const r = checkHistory([...ops, { ...bad, id: 5000 }]);
    expect(r.verdict).toBe('violation');
    const v = r.violations[0]!;
    expect(v.minimal.map((o) => o.id)).toContain(5000);
    expect(v.minimal.length).toBeLessThanOrEqual(3);
    expect(checkRegister(v.minimal, { anyInitialState: v.fromAnyValue }).verdict).toBe('violation');
  });
});

describe('performance', () => {
  test('thousands of operations per key check in seconds', () => {
    const ops = generateLinearizable(42, 6000, 8, ['a', 'b'], 0.01);
    const r = checkHistory(ops);
    expect(r.verdict).toBe('ok');
    expect(r.keys.every((k) => k.ops > 2500)).toBe(true);
    expect(r.elapsedMs).toBeLessThan(20_000); // generous: shared 2-core machine
  });

  test('gives up with unknown rather than hanging when out of budget', () => {
    const ops = generateLinearizable(3, 3000, 8, ['a'], 0.01);
    expect(checkRegister(ops, { maxSteps: 100 }).verdict).toBe('unknown');
  });
});
