import type { Pool, PoolClient } from 'pg';
import type { FeedbackExample } from '../../contracts/enhance';
import { EXAMPLE_LIMITS, type FeedbackRequest, type FeedbackSignal } from '../../contracts/feedback';
import { FieldCipher } from '../crypto/field-cipher';
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

/** The call an example is about (args and kwargs): one expectation per call and function. */
export const callHash = (example: FeedbackExample) =>
  sha256(canonicalJson({ args: example.args, kwargs: example.kwargs }));

export class FeedbackRepo {
  constructor(
    private readonly pool: Pool,
    /** Encrypts comments, suggestions and examples at rest; without a key ring, plaintext as before. */
    private readonly cipher: FieldCipher = new FieldCipher(undefined),
  ) {}

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
        `INSERT INTO feedback (tenant_id, function_name, version, execution_id, feedback_type, rating, comments, metrics,
                               suggestions, key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, function_name, execution_id, version) DO NOTHING RETURNING id`,
        [
          tenantId,
          functionName,
          fb.version,
          fb.execution_id,
          fb.feedback_type,
          fb.rating ?? null,
          this.cipher.sealText(fb.comments ?? null),
          fb.metrics ? JSON.stringify(fb.metrics) : null,
          this.cipher.sealJson(fb.suggestions ?? []),
          this.cipher.activeKeyId ?? null,
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
    return res.rows.map((r) => this.cipher.openJson(r.example));
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
      const found = existing.rows[0];
      const stored = found && this.cipher.openJson(found.example);
      if (stored === undefined) {
        await tx.query(
          `INSERT INTO feedback_examples (tenant_id, function_name, feedback_id, call_hash, example, key_id)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [tenantId, functionName, feedbackId, hash, this.cipher.sealJson(example), this.cipher.activeKeyId ?? null],
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
    return res.rows.map((r) => ({
      ...r,
      comments: this.cipher.openText(r.comments ?? null),
      suggestions: this.cipher.openJson(r.suggestions),
    }));
  }
}
