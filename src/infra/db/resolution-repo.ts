import type { Pool } from 'pg';

export interface ResolutionRow {
  active: number | null;
  /** A rollout under way (running or paused) from the active version. */
  rollout?: { candidate: number; sharePercent: number };
}

/** What resolving a unit to a version reads: one indexed row per call, as callers may ask on every start. */
export class ResolutionRepo {
  constructor(private readonly pool: Pool) {}

  /** The function's active version and rollout; undefined when the tenant has no such function. */
  async current(tenantId: string, functionName: string): Promise<ResolutionRow | undefined> {
    // A rollout counts only while its baseline is still the active version: an activation meanwhile supersedes it.
    const { rows } = await this.pool.query<{
      current_version: number | null;
      candidate_version: number | null;
      share_percent: number | null;
    }>(
      `SELECT f.current_version, r.candidate_version, r.share_percent
         FROM functions f
         LEFT JOIN function_rollouts r
           ON r.tenant_id = f.tenant_id AND r.function_name = f.name
          AND r.status IN ('running', 'paused') AND r.baseline_version = f.current_version
        WHERE f.tenant_id = $1 AND f.name = $2`,
      [tenantId, functionName],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      active: row.current_version,
      ...(row.candidate_version !== null && row.share_percent !== null
        ? { rollout: { candidate: row.candidate_version, sharePercent: row.share_percent } }
        : {}),
    };
  }
}
