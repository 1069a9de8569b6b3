import { z } from 'zod';
import { RunStatus } from './enhance';

/** GET /api/v1/runs: the caller's most recent runs, newest first. */
export const RunListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type RunListQuery = z.output<typeof RunListQuery>;

export const RunSummary = z.object({
  workflow_id: z.string(),
  run_id: z.string(),
  type: z.string(),
  status: RunStatus,
  function_name: z.string().nullable(),
  domain: z.string().nullable(),
  cache: z.string().nullable(),
  started_at: z.iso.datetime(),
  closed_at: z.iso.datetime().nullable(),
  /** The run's page in the Temporal UI; null when TEMPORAL_UI_URL is not set. */
  temporal_ui_url: z.string().nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const RunListBody = z.object({ runs: z.array(RunSummary) });

/** GET /api/v1/costs: spend and tokens per UTC day and provider, from the costs table. */
export const CostsQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(90).default(14),
});
export type CostsQuery = z.output<typeof CostsQuery>;

export const CostsRow = z.object({
  day: z.iso.date(),
  provider: z.string(),
  calls: z.number().int().nonnegative(),
  tokens: z.object({ input: z.number().int().nonnegative(), output: z.number().int().nonnegative() }),
  cost_usd: z.number().nonnegative(),
});
export const CostsBody = z.object({ from: z.iso.date(), to: z.iso.date(), rows: z.array(CostsRow) });
export type CostsBody = z.infer<typeof CostsBody>;
