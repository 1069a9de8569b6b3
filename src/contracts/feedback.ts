import { z } from 'zod';
import { EnhanceRequest, FeedbackExample, Guidance, RunRef } from './enhance';

export const FeedbackType = z.enum(['performance', 'error', 'user', 'system']);
export type FeedbackType = z.infer<typeof FeedbackType>;

export const FeedbackMetrics = z.strictObject({
  success_rate: z.number().min(0).max(1).optional(),
  /** Seconds per call. */
  avg_duration: z.number().min(0).optional(),
  error_rate: z.number().min(0).max(1).optional(),
});
export type FeedbackMetrics = z.infer<typeof FeedbackMetrics>;

/** Feedback examples per report, characters of JSON per example, and examples kept per function and tenant. */
export const EXAMPLE_LIMITS = { perReport: 20, exampleChars: 10_000, perFunction: 200 } as const;

/** One example as a report carries it: bounded in size, since every later validation runs it. */
export const ReportedExample = FeedbackExample.refine(
  (example) => JSON.stringify(example).length <= EXAMPLE_LIMITS.exampleChars,
  `an example is at most ${EXAMPLE_LIMITS.exampleChars} characters of JSON`,
);

/** PostgreSQL integer range: a larger number is a 400, not a failed query. */
export const VersionNumber = z.number().int().positive().max(2_147_483_647);

export const FeedbackRequest = z.strictObject({
  version: VersionNumber,
  execution_id: z.string().min(1).max(200),
  feedback_type: FeedbackType,
  rating: z.number().int().min(1).max(5).optional(),
  comments: z.string().max(5_000).optional(),
  metrics: FeedbackMetrics.optional(),
  suggestions: z.array(z.string().min(1).max(2_000)).max(20).optional(),
  /** Calls with the outcome the caller expects: regression tests every later version of the function must pass. */
  examples: z.array(ReportedExample).min(1).max(EXAMPLE_LIMITS.perReport).optional(),
});
export type FeedbackRequest = z.infer<typeof FeedbackRequest>;

/** One stored report as Train reads it. */
export interface FeedbackSignal {
  feedback_type: FeedbackType;
  rating: number | null;
  comments: string | null;
  metrics: FeedbackMetrics | null;
  suggestions: string[];
}

export const FeedbackStatus = z.enum(['accepted', 'requires_update']);

export const RegenerateInput = z.object({
  tenant_id: z.string(),
  function_name: z.string(),
  /** The version the feedback was about; regeneration happens only while it is the active one. */
  version: z.number().int().positive(),
  /** What started it, recorded on the new version; absent: feedback. */
  trigger: z.enum(['feedback', 'reevaluation']).optional(),
});
export type RegenerateInput = z.infer<typeof RegenerateInput>;

/** What Train decided from the feedback on one version (src/poet/train.ts). */
export const Assessment = z.object({
  status: FeedbackStatus,
  reasons: z.array(z.string()),
  feedback_count: z.number().int(),
  /** Present when status is requires_update: what to regenerate and how. */
  regenerate: z
    .object({
      request: EnhanceRequest,
      input_hash: z.string(),
      normalized_input_hash: z.string().optional(),
      guidance: Guidance,
    })
    .optional(),
});
export type Assessment = z.infer<typeof Assessment>;

export const RegenerateResult = z.object({
  function_name: z.string(),
  status: FeedbackStatus,
  version: z.number().int().positive(),
  new_version: z.number().int().positive().optional(),
  update_reason: z.string().optional(),
  run: RunRef,
});
export type RegenerateResult = z.infer<typeof RegenerateResult>;

export const ActivateInput = z.object({
  tenant_id: z.string(),
  function_name: z.string(),
  version: z.number().int().positive(),
});
export type ActivateInput = z.infer<typeof ActivateInput>;

export const ActivateResult = z.object({
  function_name: z.string(),
  current_version: z.number().int().positive(),
  previous_version: z.number().int().positive().nullable(),
  run: RunRef,
});
export type ActivateResult = z.infer<typeof ActivateResult>;
