import { z } from 'zod';
import { ErrorBody } from './errors';
import { EnhanceResult, RunRef, RunStatus } from './enhance';
import { ActivateResult, RegenerateResult } from './feedback';
import { BatchResult, Progress } from './progress';
import { RolloutState } from './rollouts';

/** 202 of POST /api/v1/functions/enhance: the run goes on; poll `links.self` (also the Location header). */
export const EnhanceAccepted = z.object({
  status: z.literal('running'),
  run: RunRef,
  links: z.object({ self: z.string() }),
});
export type EnhanceAccepted = z.infer<typeof EnhanceAccepted>;

/**
 * GET /api/v1/runs/{id}: the status, the live progress (the workflow's `progress` query: stage and history; done/total
 * for a batch), and the result (a batch's: per-item outcomes) or the error once the run has ended. A rollout's run
 * carries its state instead of progress: step, status, share, candidate and baseline versions, the last judgement.
 */
export const RunStatusBody = z.object({
  status: RunStatus,
  run: RunRef,
  type: z.string().meta({ description: 'The workflow type: enhanceFunction, enhanceBatch, rolloutVersion, ...' }),
  progress: Progress.optional(),
  rollout: RolloutState.optional(),
  result: z.union([EnhanceResult, RegenerateResult, ActivateResult, BatchResult, RolloutState]).optional(),
  error: ErrorBody.shape.error.optional(),
});
export type RunStatusBody = z.infer<typeof RunStatusBody>;
