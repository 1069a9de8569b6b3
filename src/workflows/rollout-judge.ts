import type { RolloutJudgement, VersionFigures } from '../contracts/rollouts';

/** The candidate's success rate may fall this far (absolute) below the baseline's before it counts as worse. */
export const SUCCESS_MARGIN = 0.01;
/** One-sided 95 % confidence: a z statistic above this is evidence the candidate is worse. */
export const Z_95 = 1.645;
/** The candidate's p95 latency may be at most this multiple of the baseline's... */
export const MAX_P95_RATIO = 1.5;
/** ...or at most this much slower: between millisecond latencies a ratio is a few slow calls, not a regression. */
export const P95_ALLOWANCE_MS = 5;

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/**
 * Judges one step on both versions' field reports. With fewer than `minCalls` calls of either version: wait. Else
 * a one-sided two-proportion z-test (unpooled standard error) of "the candidate's success rate is below the
 * baseline's by more than SUCCESS_MARGIN" at 95 %, and the ratio of the p95 latencies: the candidate is worse when
 * the test rejects in favour of that or the ratio is over MAX_P95_RATIO with the p95 more than P95_ALLOWANCE_MS slower,
 * and advances otherwise (no evidence that it
 * is worse). Both rates at 0 or 1 leave no spread: then the difference itself decides.
 */
export function judgeStep(candidate: VersionFigures, baseline: VersionFigures, minCalls: number): RolloutJudgement {
  const figures = { candidate, baseline };
  if (candidate.calls < minCalls || baseline.calls < minCalls)
    return {
      verdict: 'insufficient_calls',
      reason: `${candidate.calls} candidate and ${baseline.calls} baseline calls, ${minCalls} needed of each`,
      ...figures,
      z: null,
      p95_ratio: null,
    };
  const pc = candidate.successes / candidate.calls;
  const pb = baseline.successes / baseline.calls;
  const se = Math.sqrt((pc * (1 - pc)) / candidate.calls + (pb * (1 - pb)) / baseline.calls);
  const gap = pb - pc - SUCCESS_MARGIN;
  const z = se > 0 ? round(gap / se, 4) : null;
  const lowerSuccess = z === null ? gap > 0 : z > Z_95;
  const p95Ratio =
    candidate.p95_ms !== null && baseline.p95_ms !== null && baseline.p95_ms > 0
      ? round(candidate.p95_ms / baseline.p95_ms, 4)
      : null;
  const slower =
    p95Ratio !== null && p95Ratio > MAX_P95_RATIO && candidate.p95_ms! - baseline.p95_ms! > P95_ALLOWANCE_MS;
  const rates = `success ${round(pc, 4)} vs ${round(pb, 4)} (z ${z ?? 'n/a'}, worse above ${Z_95})`;
  const latency = `p95 ratio ${p95Ratio ?? 'n/a'} (at most ${MAX_P95_RATIO}, or ${P95_ALLOWANCE_MS} ms slower)`;
  return {
    verdict: lowerSuccess || slower ? 'worse' : 'advance',
    reason: `${rates}; ${latency}`,
    ...figures,
    z,
    p95_ratio: p95Ratio,
  };
}
