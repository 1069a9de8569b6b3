import { z } from 'zod';
import { ErrorBody } from './errors';
import { EnhanceResult, RunRef, RunStatus } from './enhance';
import { ActivateResult, RegenerateResult } from './feedback';
import { BatchResult, Progress } from './progress';

/** 202 of POST /api/v1/functions/enhance: the run goes on; poll `links.self` (also the Location header). */
export const EnhanceAccepted = z.object({
  status: z.literal('running'),
  run: RunRef,
  links: z.object({ self: z.string() }),
});
export type EnhanceAccepted = z.infer<typeof EnhanceAccepted>;

/**
 * GET /api/v1/runs/{id}: the status, the live progress (the workflow's `progress` query: stage and history; done/total
 * for a batch), and the result (a batch's: per-item outcomes) or the error once the run has ended.
 */
export const RunStatusBody = z.object({
  status: RunStatus,
  run: RunRef,
  progress: Progress.optional(),
  result: z.union([EnhanceResult, RegenerateResult, ActivateResult, BatchResult]).optional(),
  error: ErrorBody.shape.error.optional(),
});
export type RunStatusBody = z.infer<typeof RunStatusBody>;
