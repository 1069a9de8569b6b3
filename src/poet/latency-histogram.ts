/**
 * Call latencies kept as counts per bucket rather than one row per call: bucket 0 holds up to 0.05 ms, each next one
 * is 25 % wider than the one before, and the last (from about 2.4 h) is open. Summing two histograms is adding their
 * counts, so per-minute rows of a version add up to any window; a quantile read back is within 25 % of the exact one.
 */
export const LATENCY_BUCKETS = 80;
const FIRST_BOUND_MS = 0.05;
const GROWTH = 1.25;

/** Upper bound of bucket i (the last bucket has none). */
const upperBound = (i: number) => FIRST_BOUND_MS * GROWTH ** i;

export function latencyBucket(ms: number): number {
  if (ms <= FIRST_BOUND_MS) return 0;
  const i = Math.ceil(Math.log(ms / FIRST_BOUND_MS) / Math.log(GROWTH) - 1e-9);
  return Math.min(i, LATENCY_BUCKETS - 1);
}

export function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BUCKETS).fill(0);
}

/** The q-quantile of the counts, interpolated geometrically inside its bucket; null without counts. */
export function latencyQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, c) => sum + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (count > 0 && below + count >= rank) {
      const fraction = (rank - below) / count;
      if (i === 0) return FIRST_BOUND_MS * fraction;
      if (i === LATENCY_BUCKETS - 1) return upperBound(i - 1);
      const low = upperBound(i - 1);
      return low * GROWTH ** fraction;
    }
    below += count;
  }
  return upperBound(LATENCY_BUCKETS - 2);
}
