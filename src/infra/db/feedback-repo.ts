import type { Pool, PoolClient } from 'pg';
import type { FeedbackExample } from '../../contracts/enhance';
import { EXAMPLE_LIMITS, type FeedbackRequest, type FeedbackSignal } from '../../contracts/feedback';
import { canonicalJson, sha256 } from '../hash';
import { withTransaction } from './pool';
import { WEBHOOKS_PENDING } from '../events/publisher';

/** Examples a report may not add: one expecting another outcome of a call already stored, or past the function's limit. */
export class ExamplesRefused extends Error {
  constructor(
    readonly reason: 'conflict' | 'limit',
    message: string,
    /** Index in the report of the example refused, when one is. */
    readonly index?: number,
  ) {
    super(message);
  }
}

const callHash = (example: FeedbackExample) => sha256(canonicalJson({ args: example.args, kwargs: example.kwargs }));

export class FeedbackRepo {
  constructor(private readonly pool: Pool) {}

  /**
   * Stores one report, its examples and its `feedback.received` outbox row in one transaction; the same
   * (execution_id, version) again is a duplicate: nothing is written twice. Refused examples (ExamplesRefused) store
   * nothing of the report.
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
      if (fb.examples?.length) await this.addExamples(tx, tenantId, functionName, id, fb.examples);
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

  /** The function's examples, oldest first: what every later version must pass. */
  async examples(tenantId: string, functionName: string): Promise<FeedbackExample[]> {
    const res = await this.pool.query<{ example: FeedbackExample }>(
      'SELECT example FROM feedback_examples WHERE tenant_id = $1 AND function_name = $2 ORDER BY id',
      [tenantId, functionName],
    );
    return res.rows.map((r) => r.example);
  }

  /** How many examples the function has; they are only ever added, so a validation that ran fewer is stale. */
  async exampleCount(tenantId: string, functionName: string, db: Pool | PoolClient = this.pool): Promise<number> {
    const res = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM feedback_examples WHERE tenant_id = $1 AND function_name = $2',
      [tenantId, functionName],
    );
    return res.rows[0]?.n ?? 0;
  }

  private async addExamples(
    tx: PoolClient,
    tenantId: string,
    functionName: string,
    feedbackId: string,
    examples: FeedbackExample[],
  ): Promise<void> {
    // The function's row lock (the one new versions take) makes the limit hold under concurrent reports.
    await tx.query('SELECT 1 FROM functions WHERE tenant_id = $1 AND name = $2 FOR UPDATE', [tenantId, functionName]);
    for (const [index, example] of examples.entries()) {
      const hash = callHash(example);
      const existing = await tx.query<{ example: FeedbackExample }>(
        'SELECT example FROM feedback_examples WHERE tenant_id = $1 AND function_name = $2 AND call_hash = $3',
        [tenantId, functionName, hash],
      );
      const stored = existing.rows[0]?.example;
      if (stored === undefined) {
        await tx.query(
          `INSERT INTO feedback_examples (tenant_id, function_name, feedback_id, call_hash, example)
           VALUES ($1, $2, $3, $4, $5)`,
          [tenantId, functionName, feedbackId, hash, JSON.stringify(example)],
        );
      } else if (canonicalJson(stored) !== canonicalJson(example)) {
        throw new ExamplesRefused(
          'conflict',
          `example ${index} expects another outcome of a call that an earlier example of ${functionName} already fixes`,
          index,
        );
      }
    }
    const count = await this.exampleCount(tenantId, functionName, tx);
    if (count > EXAMPLE_LIMITS.perFunction)
      throw new ExamplesRefused(
        'limit',
        `${functionName} would have ${count} examples; at most ${EXAMPLE_LIMITS.perFunction} are kept`,
      );
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
