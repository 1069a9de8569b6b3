import type { Pool } from 'pg';
import type { StatsBody, StatsGroup, StatsQuery } from '../../contracts/stats';
import { STATS_WINDOWS } from '../../contracts/stats';
import { SKIPPED_OUTCOMES } from '../../contracts/skipped-outcomes';
import type { CostsBody } from '../../contracts/dashboard';

/**
 * Statistics of LLM calls from the `generations` table (one row per call, written by the generate activity through
 * LlmUsageRepo). A call succeeded when the provider answered (`answered`); calls an open circuit or the budget skipped
 * were never made and are left out. Calls recorded before the domain column existed count under `unknown`.
 */
const SQL = `
SELECT GROUPING(domain) AS all_domains, GROUPING(provider) AS all_providers, domain, provider,
       count(*)::int AS generations,
       avg(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END)::float8 AS success_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)::float8 AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::float8 AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)::float8 AS p99,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd,
       coalesce(sum(prompt_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS output_tokens
  FROM (SELECT coalesce(domain, 'unknown') AS domain, provider, outcome, latency_ms, cost_usd, prompt_tokens, completion_tokens
          FROM generations
         WHERE tenant_id = $1 AND created_at > $2 AND outcome <> ALL($3::text[])) AS calls
 GROUP BY GROUPING SETS ((), (domain), (provider))
 ORDER BY domain NULLS FIRST, provider NULLS FIRST`;

interface Row {
  all_domains: number;
  all_providers: number;
  domain: string | null;
  provider: string | null;
  generations: number;
  success_rate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  cost_usd: number;
  input_tokens: string;
  output_tokens: string;
}

const round = (value: number | null, digits: number) => (value === null ? null : Number(value.toFixed(digits)));

function group(row: Row | undefined): StatsGroup {
  if (!row)
    return {
      generations: 0,
      success_rate: null,
      duration_ms: { p50: null, p95: null, p99: null },
      cost_usd: 0,
      tokens: { input: 0, output: 0 },
    };
  return {
    generations: row.generations,
    success_rate: round(row.success_rate, 4),
    duration_ms: { p50: round(row.p50, 1), p95: round(row.p95, 1), p99: round(row.p99, 1) },
    cost_usd: round(row.cost_usd, 6) ?? 0,
    tokens: { input: Number(row.input_tokens), output: Number(row.output_tokens) },
  };
}

export async function generationStats(
  pool: Pool,
  tenantId: string,
  query: StatsQuery,
  now = new Date(),
): Promise<StatsBody> {
  const from = new Date(now.getTime() - STATS_WINDOWS[query.window] * 1000);
  const { rows } = await pool.query<Row>(SQL, [tenantId, from, SKIPPED_OUTCOMES]);
  // GROUPING() is 1 for a column aggregated over: the () set is both, (domain) leaves provider aggregated, and so on.
  const totals = rows.find((r) => r.all_domains === 1 && r.all_providers === 1);
  return {
    window: query.window,
    from: from.toISOString(),
    to: now.toISOString(),
    totals: group(totals),
    by_domain: rows.filter((r) => r.all_domains === 0).map((r) => ({ domain: r.domain!, ...group(r) })),
    by_provider: rows.filter((r) => r.all_providers === 0).map((r) => ({ provider: r.provider!, ...group(r) })),
  };
}

/** Spend and tokens per UTC day and provider over the last `days` days (today included), from the `costs` table. */
export async function dailyCosts(pool: Pool, tenantId: string, days: number): Promise<CostsBody> {
  const { rows } = await pool.query<{
    day: string;
    provider: string;
    calls: number;
    input: string;
    output: string;
    cost_usd: number;
  }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, provider, sum(calls)::int AS calls, sum(prompt_tokens)::bigint AS input,
            sum(completion_tokens)::bigint AS output, sum(cost_usd)::float8 AS cost_usd
       FROM costs
      WHERE tenant_id = $1 AND day > (now() AT TIME ZONE 'UTC')::date - $2::int
      GROUP BY day, provider
      ORDER BY day, provider`,
    [tenantId, days],
  );
  const today = new Date();
  const from = new Date(today.getTime() - (days - 1) * 86_400_000);
  return {
    from: from.toISOString().slice(0, 10),
    to: today.toISOString().slice(0, 10),
    rows: rows.map((row) => ({
      day: row.day,
      provider: row.provider,
      calls: row.calls,
      tokens: { input: Number(row.input), output: Number(row.output) },
      cost_usd: Number(row.cost_usd.toFixed(6)),
    })),
  };
}
