import { z } from 'zod';
import { ErrorBody } from './errors';
import { EnhanceResult, RunRef, RunStatus } from './enhance';
import { ActivateResult, RegenerateResult } from './feedback';

/** 202 of POST /api/v1/functions/enhance: the run goes on; poll `links.self` (also the Location header). */
export const EnhanceAccepted = z.object({
  status: z.literal('running'),
  run: RunRef,
  links: z.object({ self: z.string() }),
});
export type EnhanceAccepted = z.infer<typeof EnhanceAccepted>;

/** GET /api/v1/runs/{id}: the status, and the result or the error once the run has ended. */
export const RunStatusBody = z.object({
  status: RunStatus,
  run: RunRef,
  result: z.union([EnhanceResult, RegenerateResult, ActivateResult]).optional(),
  error: ErrorBody.shape.error.optional(),
});
export type RunStatusBody = z.infer<typeof RunStatusBody>;
