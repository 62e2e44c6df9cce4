import { Histogram, slotOf, slotRange } from '../src/histogram.js';

describe('Histogram', () => {
  test('small values are exact', () => {
    const h = new Histogram();
    for (const v of [5, 1, 3, 2, 4]) h.record(v);
    expect(h.count).toBe(5);
    expect(h.min).toBe(1);
    expect(h.max).toBe(5);
    expect(h.mean).toBe(3);
    expect(h.quantile(0.5)).toBe(3);
    expect(h.quantile(0.2)).toBe(1);
    expect(h.quantile(1)).toBe(5);
  });

  test('slots tile the value range without gaps and stay within 1/128 relative width', () => {
    let expectedLow = 0;
    for (let slot = 0; slot < 3000; slot++) {
      const [low, high] = slotRange(slot);
      expect(low).toBe(expectedLow);
      expect(slotOf(low)).toBe(slot);
      expect(slotOf(high)).toBe(slot);
      // Below 256 every value has its own slot (exact); above, a slot spans at most 1/128 of its low end.
      if (high > low) expect((high - low + 1) / low).toBeLessThanOrEqual(1 / 128);
      expectedLow = high + 1;
    }
  });

  test('slotOf is exact at powers of two and just below them', () => {
    for (let e = 9; e < 52; e++) {
      const p = 2 ** e;
      expect(slotOf(p)).toBe(slotOf(p - 1) + 1);
      expect(slotRange(slotOf(p))[0]).toBe(p);
    }
  });

  test('percentiles of 1..100000 ns are within 1% of the true values', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    for (const [q, exact] of [
      [0.5, 50_000],
      [0.99, 99_000],
      [0.999, 99_900],
    ] as const) {
      const got = h.quantile(q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got / exact - 1).toBeLessThan(0.01);
    }
    expect(h.quantile(1)).toBe(100_000);
  });

  test('a skewed distribution: p99 catches the tail', () => {
    const h = new Histogram();
    for (let i = 0; i < 980; i++) h.record(1_000_000); // 1 ms
    for (let i = 0; i < 20; i++) h.record(50_000_000); // 50 ms
    expect(h.quantile(0.5)).toBeLessThan(1_010_000);
    expect(h.quantile(0.98)).toBeLessThan(1_010_000);
    expect(h.quantile(0.99)).toBeGreaterThan(49_000_000);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(50_000_000);
  });

  test('merge equals recording everything in one histogram', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 0; i < 5000; i++) {
      const v = Math.floor((i * 7919) % 1_000_003) * 37;
      (i % 3 === 0 ? a : b).record(v);
      all.record(v);
    }
    a.merge(b);
    expect(a.count).toBe(all.count);
    expect(a.min).toBe(all.min);
    expect(a.max).toBe(all.max);
    for (const q of [0.1, 0.5, 0.9, 0.99, 0.999]) expect(a.quantile(q)).toBe(all.quantile(q));
  });

  test('empty histogram and bad quantiles', () => {
    const h = new Histogram();
    expect(h.quantile(0.99)).toBe(0);
    expect(h.mean).toBe(0);
    expect(() => h.quantile(0)).toThrow(RangeError);
    expect(() => h.quantile(1.5)).toThrow(RangeError);
  });

  test('negative and fractional values are clamped and rounded', () => {
    const h = new Histogram();
    h.record(-5);
    h.record(2.6);
    expect(h.min).toBe(0);
    expect(h.max).toBe(3);
  });
});
