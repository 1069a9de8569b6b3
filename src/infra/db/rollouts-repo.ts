import type { Pool } from 'pg';
import type { RecordRolloutInput } from '../../contracts/rollouts';

/** A function's rollout as its rolloutVersion run records it; resolve reads it with the active version. */
export class RolloutsRepo {
  constructor(private readonly pool: Pool) {}

  /** Idempotent: a retried write sets the same row. */
  async record(r: RecordRolloutInput): Promise<void> {
    await this.pool.query(
      `INSERT INTO function_rollouts
         (tenant_id, function_name, candidate_version, baseline_version, share_percent, status, workflow_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, function_name) DO UPDATE SET
         candidate_version = excluded.candidate_version, baseline_version = excluded.baseline_version,
         share_percent = excluded.share_percent, status = excluded.status, workflow_id = excluded.workflow_id,
         updated_at = now()`,
      [r.tenant_id, r.function_name, r.candidate_version, r.baseline_version, r.share_percent, r.status, r.workflow_id],
    );
  }
}
