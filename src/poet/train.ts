import type { JsonValue } from '../contracts/enhance';
import type { FeedbackSignal } from '../contracts/feedback';

/**
 * Train: decides from the feedback on one version whether it must be regenerated, and learns the
 * parameters the regeneration starts from.
 *
 * Decision rules (any one makes the answer `requires_update`):
 *  1. error feedback: at least one `feedback_type: error` report;
 *  2. rating: the mean of the given ratings is at most 2 (of 5);
 *  3. error_rate: the mean reported error_rate is above 0.1;
 *  4. success_rate: the mean reported success_rate is below 0.9;
 *  5. suggestions: a report carries suggestions (they go into the generation prompt).
 * Otherwise the feedback is `accepted` and the version stays.
 *
 * Learning, starting from the version's params.json:
 *  - the reference POET basic rule per report, in order: a failure (error report, error_rate above 0.1 or
 *    success_rate below 0.9) adds one retry (at most 5); avg_duration over 0.8 × timeout raises the timeout
 *    × 1.2 (at most 120 s); under 0.3 × timeout lowers it × 0.9 (at least 5 s);
 *  - errors that read as timeouts add one more retry and a longer timeout (× 1.2, at most 120 s);
 *  - errors that read as bad inputs turn on the strict Perceive checks (types, None, NaN/infinity).
 */
export const TRAIN_RULES = {
  maxMeanRating: 2,
  maxErrorRate: 0.1,
  minSuccessRate: 0.9,
  maxRetries: 5,
  slowFraction: 0.8,
  fastFraction: 0.3,
  timeoutUp: 1.2,
  timeoutDown: 0.9,
  maxTimeoutS: 120,
  minTimeoutS: 5,
} as const;

export interface OperateParams {
  retries: number;
  timeout_s: number;
}

export interface TrainDecision {
  requiresUpdate: boolean;
  reasons: string[];
  operate: OperateParams;
  perceive: { check_types?: boolean; reject_none?: boolean; reject_non_finite?: boolean };
  suggestions: string[];
}

const TIMEOUT_WORDS = /time[d\s-]*out|deadline exceeded|too slow/i;
const BAD_INPUT_WORDS =
  /\b(ValueError|TypeError|KeyError|bad input|invalid (input|argument)|NoneType|nan|inf(inity)?)\b/i;

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined);
const round2 = (n: number) => Math.round(n * 100) / 100;

function isFailure(s: FeedbackSignal): boolean {
  const m = s.metrics;
  return (
    s.feedback_type === 'error' ||
    (m?.error_rate !== undefined && m.error_rate > TRAIN_RULES.maxErrorRate) ||
    (m?.success_rate !== undefined && m.success_rate < TRAIN_RULES.minSuccessRate)
  );
}

/** The reference's basic rule for one observation. */
export function basicRule(params: OperateParams, failed: boolean, durationS: number | undefined): OperateParams {
  const r = TRAIN_RULES;
  let { retries, timeout_s } = params;
  if (failed) retries = Math.max(retries, Math.min(r.maxRetries, retries + 1));
  if (durationS !== undefined) {
    if (durationS > r.slowFraction * timeout_s)
      timeout_s = Math.max(timeout_s, Math.min(r.maxTimeoutS, timeout_s * r.timeoutUp));
    else if (durationS < r.fastFraction * timeout_s)
      timeout_s = Math.min(timeout_s, Math.max(r.minTimeoutS, timeout_s * r.timeoutDown));
  }
  return { retries, timeout_s: round2(timeout_s) };
}

export function decide(signals: FeedbackSignal[], current: OperateParams): TrainDecision {
  const r = TRAIN_RULES;
  const reasons: string[] = [];
  const errors = signals.filter((s) => s.feedback_type === 'error');
  if (errors.length) reasons.push(`${errors.length} error report(s)`);
  const rating = mean(signals.flatMap((s) => (s.rating === null ? [] : [s.rating])));
  if (rating !== undefined && rating <= r.maxMeanRating)
    reasons.push(`mean rating ${round2(rating)} ≤ ${r.maxMeanRating}`);
  const errorRate = mean(signals.flatMap((s) => (s.metrics?.error_rate === undefined ? [] : [s.metrics.error_rate])));
  if (errorRate !== undefined && errorRate > r.maxErrorRate)
    reasons.push(`error_rate ${round2(errorRate)} > ${r.maxErrorRate}`);
  const successRate = mean(
    signals.flatMap((s) => (s.metrics?.success_rate === undefined ? [] : [s.metrics.success_rate])),
  );
  if (successRate !== undefined && successRate < r.minSuccessRate)
    reasons.push(`success_rate ${round2(successRate)} < ${r.minSuccessRate}`);
  const suggestions = [...new Set(signals.flatMap((s) => s.suggestions))].slice(0, 20);
  if (suggestions.length) reasons.push(`${suggestions.length} suggestion(s)`);

  let operate = signals.reduce((params, s) => basicRule(params, isFailure(s), s.metrics?.avg_duration), current);
  const errorText = errors.map((s) => s.comments ?? '').join('\n');
  const perceive: TrainDecision['perceive'] = {};
  if (TIMEOUT_WORDS.test(errorText)) {
    operate = {
      retries: Math.max(operate.retries, Math.min(r.maxRetries, operate.retries + 1)),
      timeout_s: round2(Math.max(operate.timeout_s, Math.min(r.maxTimeoutS, operate.timeout_s * r.timeoutUp))),
    };
    reasons.push('errors are timeouts: more retries, longer timeout');
  }
  if (BAD_INPUT_WORDS.test(errorText)) {
    Object.assign(perceive, { check_types: true, reject_none: true, reject_non_finite: true });
    reasons.push('errors come from bad inputs: strict input checks');
  }
  return { requiresUpdate: reasons.length > 0, reasons, operate, perceive, suggestions };
}

/** Operate settings as a version's params.json holds them (template names: retries, timeout). */
export function operateFromParams(params: Record<string, JsonValue>, fallback: OperateParams): OperateParams {
  const retries = typeof params.retries === 'number' ? params.retries : fallback.retries;
  const timeout = typeof params.timeout === 'number' ? params.timeout : fallback.timeout_s;
  return { retries, timeout_s: timeout };
}
