// A log-bucketed latency histogram in the manner of HdrHistogram: values below 2^SUB_BITS are kept
// exactly, every higher power-of-two range [2^e, 2^(e+1)) is split into 2^(SUB_BITS-1) equal slots, so
// any recorded value is known to within 1/2^(SUB_BITS-1) (< 0.8 %) relative error, in constant memory
// and O(1) per record. Values are non-negative integers (the benchmark records nanoseconds).

const SUB_BITS = 8;
const EXACT = 2 ** SUB_BITS; // values below this have a slot each
const HALF = EXACT / 2; // slots per power of two above EXACT
/** Largest recordable value: 2^53 ns is ~104 days; anything above is clamped. */
const VALUE_MAX = Number.MAX_SAFE_INTEGER;

/** Position of the highest set bit of v (v >= 1), exact for every safe integer. */
function log2Floor(v: number): number {
  let e = Math.floor(Math.log2(v));
  // Math.log2 may round across a power of two for values just below it: correct by one step.
  if (2 ** e > v) e -= 1;
  else if (2 ** (e + 1) <= v) e += 1;
  return e;
}

/** Slot index for a value. Invariant: monotone non-decreasing in v. */
export function slotOf(v: number): number {
  if (v < EXACT) return v;
  const e = log2Floor(v);
  const width = 2 ** (e - SUB_BITS + 1);
  return EXACT + (e - SUB_BITS) * HALF + (Math.floor(v / width) - HALF);
}

/** Inclusive [low, high] range of values sharing a slot. */
export function slotRange(slot: number): [number, number] {
  if (slot < EXACT) return [slot, slot];
  const e = SUB_BITS + Math.floor((slot - EXACT) / HALF);
  const width = 2 ** (e - SUB_BITS + 1);
  const low = (HALF + ((slot - EXACT) % HALF)) * width;
  return [low, low + width - 1];
}

export class Histogram {
  private counts: number[] = [];
  private total = 0;
  private sum = 0;
  private minValue = Infinity;
  private maxValue = 0;

  record(value: number): void {
    const v = Math.min(VALUE_MAX, Math.max(0, Math.round(value)));
    const slot = slotOf(v);
    while (this.counts.length <= slot) this.counts.push(0);
    this.counts[slot] = (this.counts[slot] ?? 0) + 1;
    this.total += 1;
    this.sum += v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }
  get min(): number {
    return this.total === 0 ? 0 : this.minValue;
  }
  get max(): number {
    return this.maxValue;
  }
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /**
   * The value at quantile q (0 < q <= 1): the highest value equivalent to the ranked sample, as
   * HdrHistogram reports it (never above the largest value recorded). 0 when empty.
   */
  quantile(q: number): number {
    if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${q}`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let slot = 0; slot < this.counts.length; slot++) {
      seen += this.counts[slot] ?? 0;
      if (seen >= rank) return Math.min(slotRange(slot)[1], this.maxValue);
    }
    return this.maxValue;
  }

  /** Adds every sample of `other` into this histogram. */
  merge(other: Histogram): void {
    for (let slot = 0; slot < other.counts.length; slot++) {
      const c = other.counts[slot] ?? 0;
      if (c === 0) continue;
      while (this.counts.length <= slot) this.counts.push(0);
      this.counts[slot] = (this.counts[slot] ?? 0) + c;
    }
    this.total += other.total;
    this.sum += other.sum;
    if (other.total > 0) {
      this.minValue = Math.min(this.minValue, other.minValue);
      this.maxValue = Math.max(this.maxValue, other.maxValue);
    }
  }
}
