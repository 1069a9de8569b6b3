import type { Pool } from 'pg';
import type { Evaluation, FunctionKey } from '../../contracts/reevaluation';

export interface PendingFunction extends FunctionKey {
  version: number;
  domain: string;
  last_feedback_id: string;
}

/** The cursor of scheduled re-evaluation: per function, the newest feedback already evaluated. */
export class ReevaluationRepo {
  constructor(private readonly pool: Pool) {}

  /**
   * Functions of every tenant in this schema whose active version has feedback newer than their last evaluation,
   * in (tenant_id, function_name) order after `after`: keyset pages, so functions added meanwhile never shift them.
   */
  async pending(after: FunctionKey | undefined, limit: number): Promise<PendingFunction[]> {
    const res = await this.pool.query<PendingFunction>(
      `SELECT f.tenant_id, f.name AS function_name, f.current_version AS version, v.domain,
              max(fb.id)::text AS last_feedback_id
         FROM functions f
         JOIN versions v ON v.tenant_id = f.tenant_id AND v.function_name = f.name AND v.version = f.current_version
         JOIN feedback fb ON fb.tenant_id = f.tenant_id AND fb.function_name = f.name AND fb.version = f.current_version
         LEFT JOIN evaluations e ON e.tenant_id = f.tenant_id AND e.function_name = f.name
        WHERE fb.id > COALESCE(e.last_feedback_id, 0)
          AND ($1::text IS NULL OR (f.tenant_id, f.name) > ($1::text, $2::text))
        GROUP BY f.tenant_id, f.name, f.current_version, v.domain
        ORDER BY f.tenant_id, f.name
        LIMIT $3`,
      [after?.tenant_id ?? null, after?.function_name ?? null, limit],
    );
    return res.rows;
  }

  /** Moves each function's cursor forward (never back: a retried or late write keeps the newer one). */
  async record(evaluations: Evaluation[]): Promise<void> {
    for (const e of evaluations) {
      await this.pool.query(
        `INSERT INTO evaluations (tenant_id, function_name, last_feedback_id, version, outcome)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, function_name) DO UPDATE
           SET last_feedback_id = GREATEST(evaluations.last_feedback_id, EXCLUDED.last_feedback_id),
               version = EXCLUDED.version, outcome = EXCLUDED.outcome, evaluated_at = now()`,
        [e.tenant_id, e.function_name, e.last_feedback_id, e.version, e.outcome],
      );
    }
  }
}
