import { z } from 'zod';

/** Windows GET /api/v1/stats accepts, with their length in seconds. */
export const STATS_WINDOWS = { '1h': 3_600, '6h': 21_600, '24h': 86_400, '7d': 604_800, '30d': 2_592_000 } as const;

export const StatsQuery = z.strictObject({
  window: z
    .enum(Object.keys(STATS_WINDOWS) as [keyof typeof STATS_WINDOWS, ...(keyof typeof STATS_WINDOWS)[]])
    .default('24h'),
});
export type StatsQuery = z.output<typeof StatsQuery>;

const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() });

/** Aggregates of the generations in a window; rates and percentiles are null when there were none. */
export const StatsGroup = z.object({
  generations: z.number().int().nonnegative(),
  success_rate: z.number().min(0).max(1).nullable(),
  duration_ms: Percentiles,
  cost_usd: z.number().nonnegative(),
  tokens: z.object({ input: z.number().int().nonnegative(), output: z.number().int().nonnegative() }),
});
export type StatsGroup = z.infer<typeof StatsGroup>;

export const StatsBody = z.object({
  window: StatsQuery.shape.window,
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  totals: StatsGroup,
  by_domain: z.array(StatsGroup.extend({ domain: z.string() })),
  by_provider: z.array(StatsGroup.extend({ provider: z.string() })),
});
export type StatsBody = z.infer<typeof StatsBody>;
