import {
  OUTCOME_WINDOWS,
  type OutcomeBatch,
  type OutcomeIngested,
  type OutcomesQuery,
  type VersionOutcomes,
} from '../contracts/outcomes';
import { MAX_ERROR_TYPES, OTHER_ERRORS, type OutcomeGroup, type OutcomesRepo } from '../infra/db/outcomes-repo';
import { versionNotFound } from './functions';
import { emptyHistogram, latencyBucket, latencyQuantile } from '../poet/latency-histogram';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** The minute a report counts in: its own time, clamped to the last 24 h (clocks in the field drift; backlogs age). */
function minuteOf(at: number | undefined, now: number): Date {
  const ms = at === undefined ? now : Math.min(now, Math.max(now - DAY_MS, at * 1000));
  return new Date(Math.floor(ms / MINUTE_MS) * MINUTE_MS);
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** The most frequent classes by name, the rest together, as the row keeps them (OutcomesRepo). */
function capErrors(errors: Record<string, number>): Record<string, number> {
  const ranked = Object.entries(errors).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  if (ranked.length <= MAX_ERROR_TYPES) return errors;
  const kept = Object.fromEntries(ranked.slice(0, MAX_ERROR_TYPES));
  kept[OTHER_ERRORS] = ranked.slice(MAX_ERROR_TYPES).reduce((sum, [, n]) => sum + n, 0);
  return kept;
}

/** How versions behave where they run, as the POET runtime reports each call. */
export class Outcomes {
  constructor(private readonly repo: OutcomesRepo) {}

  /** Adds a batch to its versions' per-minute rows; reports for versions the tenant does not have are refused. */
  async ingest(tenantId: string, batch: OutcomeBatch, now = Date.now()): Promise<OutcomeIngested> {
    const groups = new Map<string, OutcomeGroup>();
    const perVersion = new Map<string, { functionName: string; version: number; reports: number }>();
    for (const r of batch.reports) {
      const versionKey = `${r.function_name}/${r.version}`;
      const seen = perVersion.get(versionKey);
      if (seen) seen.reports += 1;
      else perVersion.set(versionKey, { functionName: r.function_name, version: r.version, reports: 1 });
      const bucket = minuteOf(r.at, now);
      const key = `${versionKey}/${bucket.getTime()}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          functionName: r.function_name,
          version: r.version,
          bucket,
          calls: 0,
          successes: 0,
          attempts: 0,
          latencyMsSum: 0,
          latencyCounts: emptyHistogram(),
          errors: {},
        };
        groups.set(key, g);
      }
      g.calls += 1;
      g.attempts += r.attempts;
      g.latencyMsSum += r.latency_ms;
      g.latencyCounts[latencyBucket(r.latency_ms)]! += 1;
      if (r.success) g.successes += 1;
      else {
        const type = r.exception_type ?? 'unknown';
        g.errors[type] = (g.errors[type] ?? 0) + 1;
      }
    }
    const known = await this.repo.knownVersions(tenantId, [...perVersion.values()]);
    await this.repo.add(
      tenantId,
      [...groups.values()]
        .filter((g) => known.has(`${g.functionName}/${g.version}`))
        .map((g) => ({ ...g, errors: capErrors(g.errors) })),
    );
    const rejected = [...perVersion.entries()]
      .filter(([key]) => !known.has(key))
      .map(([, v]) => ({
        function_name: v.functionName,
        version: v.version,
        reports: v.reports,
        reason: 'version_not_found' as const,
      }));
    return { accepted: batch.reports.length - rejected.reduce((sum, r) => sum + r.reports, 0), rejected };
  }

  /** A version's success rate, latency percentiles, attempts and error mix over a window. */
  async forVersion(
    tenantId: string,
    name: string,
    version: number,
    query: OutcomesQuery,
    now = Date.now(),
  ): Promise<VersionOutcomes> {
    const known = await this.repo.knownVersions(tenantId, [{ functionName: name, version }]);
    if (known.size === 0) throw versionNotFound(name, version);
    const from = new Date(now - OUTCOME_WINDOWS[query.window] * 1000);
    const t = await this.repo.totals(tenantId, name, version, from);
    const p = (q: number) => {
      const value = latencyQuantile(t.latencyCounts, q);
      return value === null ? null : round(value, 3);
    };
    return {
      function_name: name,
      version,
      window: query.window,
      from: from.toISOString(),
      to: new Date(now).toISOString(),
      calls: t.calls,
      successes: t.successes,
      success_rate: t.calls ? round(t.successes / t.calls, 6) : null,
      latency_ms: { p50: p(0.5), p95: p(0.95), mean: t.calls ? round(t.latencyMsSum / t.calls, 3) : null },
      mean_attempts: t.calls ? round(t.attempts / t.calls, 4) : null,
      errors: t.errors,
    };
  }
}
