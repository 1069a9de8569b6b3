import { z } from 'zod';

export const CheckStatus = z.enum(['ok', 'degraded', 'failing', 'disabled']);

export const CheckResult = z.object({
  status: CheckStatus,
  latency_ms: z.number().nonnegative(),
  error: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** `/health/live`: the process is up and its event loop answers. */
export const LiveBody = z.object({ status: z.literal('ok') });

/** `/health/ready`: 200 unless a check is failing (503); degraded checks are listed but keep it ready. */
export const ReadinessBody = z.object({
  status: z.enum(['ok', 'degraded', 'failing']),
  checks: z.record(z.string(), CheckResult),
});
