import type { VersionFigures } from '../../src/contracts/rollouts';
import { judgeStep, MAX_P95_RATIO, P95_ALLOWANCE_MS, SUCCESS_MARGIN } from '../../src/workflows/rollout-judge';

const v = (version: number, calls: number, successes: number, p95: number | null = 10): VersionFigures => ({
  version,
  calls,
  successes,
  success_rate: calls ? successes / calls : null,
  p95_ms: p95,
});

describe('judging a rollout step on field figures', () => {
  test('fewer than min_calls of either version: wait, whatever the rates', () => {
    expect(judgeStep(v(2, 99, 0), v(1, 1000, 1000), 100).verdict).toBe('insufficient_calls');
    expect(judgeStep(v(2, 1000, 1000), v(1, 99, 99), 100).verdict).toBe('insufficient_calls');
  });

  test('a drop within the margin, or one too small to be sure of, advances; a sure one beyond it is worse', () => {
    // 0.5 points below: within the 1-point margin however many calls.
    expect(judgeStep(v(2, 100_000, 98_500), v(1, 100_000, 99_000), 100).verdict).toBe('advance');
    expect(SUCCESS_MARGIN).toBe(0.01);
    // 5 points below on 100 calls each: z ≈ 0.96, not evidence at 95 %.
    const unsure = judgeStep(v(2, 100, 90), v(1, 100, 95), 100);
    expect(unsure.verdict).toBe('advance');
    expect(unsure.z).toBeLessThan(1.645);
    // The same rates on 2,000 calls each: z ≈ 4.3.
    const sure = judgeStep(v(2, 2000, 1800), v(1, 2000, 1900), 100);
    expect(sure.verdict).toBe('worse');
    expect(sure.z).toBeGreaterThan(1.645);
  });

  test('without spread (every call of both versions alike) the difference itself decides', () => {
    expect(judgeStep(v(2, 500, 500), v(1, 500, 500), 100)).toMatchObject({ verdict: 'advance', z: null });
    expect(judgeStep(v(2, 500, 0), v(1, 500, 500), 100)).toMatchObject({ verdict: 'worse', z: null });
  });

  test("a p95 latency over the bound times the baseline's is worse even at equal success", () => {
    expect(judgeStep(v(2, 500, 500, 15), v(1, 500, 500, 10), 100)).toMatchObject({
      verdict: 'advance',
      p95_ratio: 1.5,
    });
    const slow = judgeStep(v(2, 500, 500, 16), v(1, 500, 500, 10), 100);
    expect(slow).toMatchObject({ verdict: 'worse', p95_ratio: 1.6 });
    expect(slow.p95_ratio).toBeGreaterThan(MAX_P95_RATIO);
  });

  test('between millisecond latencies a ratio over the bound is not worse until the p95 is also the allowance slower', () => {
    // A few slow early calls of a low-volume candidate: 3.8 ms against 1.2 ms is a ratio of 3.2, 2.6 ms slower.
    const jitter = judgeStep(v(2, 500, 500, 3.8), v(1, 5000, 5000, 1.2), 100);
    expect(jitter).toMatchObject({ verdict: 'advance', p95_ratio: 3.1667 });
    expect(P95_ALLOWANCE_MS).toBe(5);
    expect(judgeStep(v(2, 500, 500, 40), v(1, 500, 500, 20), 100)).toMatchObject({ verdict: 'worse', p95_ratio: 2 });
  });
});
