import type { Pool } from 'pg';

/** One row's worth of outcomes: a tenant's function version over one minute. */
export interface OutcomeGroup {
  functionName: string;
  version: number;
  /** Start of the minute. */
  bucket: Date;
  calls: number;
  successes: number;
  attempts: number;
  latencyMsSum: number;
  latencyCounts: number[];
  /** Failed calls by exception class. */
  errors: Record<string, number>;
}

export interface OutcomeTotals {
  calls: number;
  successes: number;
  attempts: number;
  latencyMsSum: number;
  latencyCounts: number[];
  errors: Array<{ exception_type: string; count: number }>;
}

/**
 * Exception classes one row keeps by name; the rarer ones are counted together under OTHER_ERRORS, so a reporter
 * sending ever new class names cannot grow a row without bound.
 */
export const MAX_ERROR_TYPES = 50;
export const OTHER_ERRORS = '(other)';

// Adding a group to its minute's row: counts add, histograms add bucket by bucket, error counts add per class.
const UPSERT = `
INSERT INTO outcome_buckets AS o
  (tenant_id, function_name, version, bucket, calls, successes, attempts, latency_ms_sum, latency_counts, errors)
SELECT $1, g.function_name, g.version, g.bucket, g.calls, g.successes, g.attempts, g.latency_ms_sum, g.latency_counts, g.errors
  FROM jsonb_to_recordset($2::jsonb) AS g(function_name text, version int, bucket timestamptz, calls bigint,
       successes bigint, attempts bigint, latency_ms_sum float8, latency_counts bigint[], errors jsonb)
 ORDER BY g.function_name, g.version, g.bucket
ON CONFLICT (tenant_id, function_name, version, bucket) DO UPDATE SET
  calls = o.calls + excluded.calls,
  successes = o.successes + excluded.successes,
  attempts = o.attempts + excluded.attempts,
  latency_ms_sum = o.latency_ms_sum + excluded.latency_ms_sum,
  latency_counts = (SELECT array_agg(a + b ORDER BY i)
                      FROM unnest(o.latency_counts, excluded.latency_counts) WITH ORDINALITY AS h(a, b, i)),
  errors = (SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb)
              FROM (SELECT CASE WHEN rank <= ${MAX_ERROR_TYPES} THEN k ELSE '${OTHER_ERRORS}' END AS k, sum(n) AS n
                      FROM (SELECT k, n, row_number() OVER (ORDER BY k = '${OTHER_ERRORS}', n DESC, k) AS rank
                              FROM (SELECT k, sum(n::bigint) AS n
                                      FROM (SELECT key AS k, value AS n FROM jsonb_each_text(o.errors)
                                            UNION ALL SELECT key, value FROM jsonb_each_text(excluded.errors)) AS e
                                     GROUP BY k) AS merged) AS ranked
                     GROUP BY 1) AS s)`;

const WHERE = 'tenant_id = $1 AND function_name = $2 AND version = $3 AND bucket >= $4';

/**
 * Field outcomes of function versions, aggregated per minute: a busy version costs one row a minute, not one per
 * call, and any window's figures are sums of its rows.
 */
export class OutcomesRepo {
  constructor(private readonly pool: Pool) {}

  /** Which of these (function, version) pairs the tenant has, as `name/version` keys. */
  async knownVersions(tenantId: string, pairs: Array<{ functionName: string; version: number }>): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ key: string }>(
      `SELECT v.function_name || '/' || v.version AS key
         FROM versions v JOIN unnest($2::text[], $3::int[]) AS p(function_name, version)
           ON v.function_name = p.function_name AND v.version = p.version
        WHERE v.tenant_id = $1`,
      [tenantId, pairs.map((p) => p.functionName), pairs.map((p) => p.version)],
    );
    return new Set(rows.map((r) => r.key));
  }

  async add(tenantId: string, groups: OutcomeGroup[]): Promise<void> {
    if (groups.length === 0) return;
    const rows = groups.map((g) => ({
      function_name: g.functionName,
      version: g.version,
      bucket: g.bucket.toISOString(),
      calls: g.calls,
      successes: g.successes,
      attempts: g.attempts,
      latency_ms_sum: g.latencyMsSum,
      latency_counts: g.latencyCounts,
      errors: g.errors,
    }));
    await this.pool.query(UPSERT, [tenantId, JSON.stringify(rows)]);
  }

  /** Rows of minutes older than the retention, of every tenant: the worker prunes them hourly. */
  async prune(retentionDays: number): Promise<number> {
    const res = await this.pool.query('DELETE FROM outcome_buckets WHERE bucket < now() - make_interval(days => $1)', [
      retentionDays,
    ]);
    return res.rowCount ?? 0;
  }

  /** Sums of a version's rows since `since`. */
  async totals(tenantId: string, functionName: string, version: number, since: Date): Promise<OutcomeTotals> {
    const args = [tenantId, functionName, version, since];
    const [sums, histogram, errors] = await Promise.all([
      this.pool.query<{ calls: string; successes: string; attempts: string; latency_ms_sum: number }>(
        `SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(successes), 0) AS successes,
                coalesce(sum(attempts), 0) AS attempts, coalesce(sum(latency_ms_sum), 0)::float8 AS latency_ms_sum
           FROM outcome_buckets WHERE ${WHERE}`,
        args,
      ),
      this.pool.query<{ i: number; n: string }>(
        `SELECT h.i::int AS i, sum(h.n) AS n
           FROM outcome_buckets, unnest(latency_counts) WITH ORDINALITY AS h(n, i)
          WHERE ${WHERE} GROUP BY h.i`,
        args,
      ),
      this.pool.query<{ exception_type: string; count: string }>(
        `SELECT e.key AS exception_type, sum(e.value::bigint) AS count
           FROM outcome_buckets, jsonb_each_text(errors) AS e
          WHERE ${WHERE} GROUP BY e.key ORDER BY count DESC, e.key`,
        args,
      ),
    ]);
    const row = sums.rows[0]!;
    const latencyCounts: number[] = [];
    for (const { i, n } of histogram.rows) latencyCounts[i - 1] = Number(n);
    return {
      calls: Number(row.calls),
      successes: Number(row.successes),
      attempts: Number(row.attempts),
      latencyMsSum: row.latency_ms_sum,
      latencyCounts: Array.from(latencyCounts, (n) => n ?? 0),
      errors: errors.rows.map((r) => ({ exception_type: r.exception_type, count: Number(r.count) })),
    };
  }
}
