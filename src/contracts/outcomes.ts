import { z } from 'zod';
import { FunctionName } from './enhance';
import { VersionNumber } from './feedback';
import { STATS_WINDOWS, StatsQuery } from './stats';

/** Shapes of the field outcome reports (POST /api/v1/outcomes), per-version metrics and version resolution. */

/** Most reports one POST may carry; the runtime sends at most 500 at a time. */
export const MAX_REPORTS_PER_BATCH = 1000;

/** One call of an enhanced function where it runs, as poet_runtime reports it. */
export const OutcomeReport = z.strictObject({
  function_name: FunctionName,
  version: VersionNumber,
  success: z.boolean(),
  /** The exception's class name when the call raised; null on success. */
  exception_type: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.]{0,199}$/, 'a Python class name')
    .nullable()
    .default(null),
  latency_ms: z.number().min(0).max(86_400_000),
  /** Attempts Operate started for the call: 0 for a cache hit or a refused call, more than 1 after retries. */
  attempts: z.number().int().min(0).max(1000),
  /** When the call ended (Unix seconds); clamped to the last 24 h, and now when absent. */
  at: z.number().positive().optional(),
});
export type OutcomeReport = z.output<typeof OutcomeReport>;

export const OutcomeBatch = z.strictObject({
  reports: z.array(OutcomeReport).min(1).max(MAX_REPORTS_PER_BATCH),
});
export type OutcomeBatch = z.output<typeof OutcomeBatch>;

/** Reports for a version the tenant does not have are not stored; the rest of the batch is. */
export const OutcomeIngested = z.object({
  accepted: z.number().int().nonnegative(),
  rejected: z.array(
    z.object({
      function_name: z.string(),
      version: z.number().int(),
      reports: z.number().int().positive(),
      reason: z.literal('version_not_found'),
    }),
  ),
});
export type OutcomeIngested = z.infer<typeof OutcomeIngested>;

export const OutcomesQuery = StatsQuery;
export type OutcomesQuery = z.output<typeof OutcomesQuery>;
export { STATS_WINDOWS as OUTCOME_WINDOWS };

/** What the field reported for one version over a window; rates and latencies are null without reports. */
export const VersionOutcomes = z.object({
  function_name: z.string(),
  version: z.number().int(),
  window: OutcomesQuery.shape.window,
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  calls: z.number().int().nonnegative(),
  successes: z.number().int().nonnegative(),
  success_rate: z.number().min(0).max(1).nullable(),
  /** From a histogram of 25 %-wide buckets, interpolated within the bucket: within 25 % of the exact quantile. */
  latency_ms: z.object({ p50: z.number().nullable(), p95: z.number().nullable(), mean: z.number().nullable() }),
  mean_attempts: z.number().nullable(),
  /** Failed calls by exception class, most frequent first. */
  errors: z.array(z.object({ exception_type: z.string(), count: z.number().int().positive() })),
});
export type VersionOutcomes = z.infer<typeof VersionOutcomes>;

export const ResolveQuery = z.strictObject({
  unit: z
    .string()
    .min(1)
    .max(200)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .regex(/^[^\x00-\x1f\x7f]+$/, 'no control characters')
    .meta({ description: 'Who runs the function: a caller, a user, a job id. The same unit gets the same answer.' }),
});
export type ResolveQuery = z.output<typeof ResolveQuery>;

/** Which version a unit runs, and where its code is. */
export const Resolution = z.object({
  function_name: z.string(),
  unit: z.string(),
  version: z.number().int().positive(),
  /** The unit's stable place in 0..9999: a rollout with a candidate share of p % sends buckets below p × 100 to it. */
  bucket: z.number().int().min(0).max(9999),
  /** Why this version: the active one, or a rollout's candidate (the unit's bucket is below its share). */
  reason: z.enum(['active', 'rollout']),
  urls: z.object({ version: z.string(), python: z.string(), dana: z.string() }),
});
export type Resolution = z.infer<typeof Resolution>;
