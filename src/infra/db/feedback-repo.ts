import type { Pool } from 'pg';
import type { FeedbackRequest, FeedbackSignal } from '../../contracts/feedback';
import { withTransaction } from './pool';
import { WEBHOOKS_PENDING } from '../events/publisher';

export class FeedbackRepo {
  constructor(private readonly pool: Pool) {}

  /**
   * Stores one report and its `feedback.received` outbox row in one transaction; the same (execution_id, version)
   * again is a duplicate: neither is written twice.
   */
  async record(
    tenantId: string,
    functionName: string,
    fb: FeedbackRequest,
  ): Promise<{ id: string | null; duplicate: boolean; eventKey?: string }> {
    return withTransaction(this.pool, async (tx) => {
      const res = await tx.query<{ id: string }>(
        `INSERT INTO feedback (tenant_id, function_name, version, execution_id, feedback_type, rating, comments, metrics, suggestions)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, function_name, execution_id, version) DO NOTHING RETURNING id`,
        [
          tenantId,
          functionName,
          fb.version,
          fb.execution_id,
          fb.feedback_type,
          fb.rating ?? null,
          fb.comments ?? null,
          fb.metrics ? JSON.stringify(fb.metrics) : null,
          JSON.stringify(fb.suggestions ?? []),
        ],
      );
      const id = res.rows[0]?.id ?? null;
      if (id === null) return { id, duplicate: true };
      const eventKey = `feedback/${tenantId}/${id}`;
      await tx.query(
        `INSERT INTO events (tenant_id, function_name, event_type, dedupe_key, payload, webhooks_pending)
         VALUES ($1, $2, 'feedback.received', $3, $4, ${WEBHOOKS_PENDING})`,
        [
          tenantId,
          functionName,
          eventKey,
          JSON.stringify({
            feedback_id: id,
            version: fb.version,
            execution_id: fb.execution_id,
            feedback_type: fb.feedback_type,
            rating: fb.rating ?? null,
          }),
        ],
      );
      return { id, duplicate: false, eventKey };
    });
  }

  async signals(tenantId: string, functionName: string, version: number): Promise<(FeedbackSignal & { id: string })[]> {
    const res = await this.pool.query<FeedbackSignal & { id: string }>(
      `SELECT id, feedback_type, rating, comments, metrics, suggestions FROM feedback
        WHERE tenant_id = $1 AND function_name = $2 AND version = $3 ORDER BY id`,
      [tenantId, functionName, version],
    );
    return res.rows;
  }
}
