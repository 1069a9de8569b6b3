import type { Pool } from 'pg';
import type { GenerationAttempt } from '../../contracts/generation';
import { isSkipped } from '../../contracts/skipped-outcomes';
import { withTransaction } from './pool';

/** Outcome of one call as stored; the workflow later tells `answered` apart into accepted and invalid. */
export type CallOutcome = 'answered' | 'bad_answer' | 'retryable_error' | 'failed' | 'circuit_open' | 'over_budget';

export interface LlmCall {
  tenantId: string;
  functionName: string;
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
  round: number;
  provider: string;
  model: string;
  /** The domain generated for (GET /api/v1/stats groups by it). */
  domain: string;
  outcome: CallOutcome;
  reason: string | null;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  latencyMs: number;
}

interface CallRow {
  provider: string;
  model: string;
  round: number;
  attempt: number;
  outcome: CallOutcome;
  reason: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: string;
  latency_ms: number;
}

/** The generations and costs tables: every LLM call with its tokens, cost and latency. */
export class LlmUsageRepo {
  /** `onRecorded` sees each call once, when its row is new (a retried record is not counted twice): metrics hang here. */
  constructor(
    private readonly pool: Pool,
    private readonly onRecorded?: (call: LlmCall) => void,
  ) {}

  /** Idempotent per activity attempt; the day's cost row grows only when the call row is new. */
  async record(call: LlmCall): Promise<void> {
    const fresh = await withTransaction(this.pool, async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO generations (tenant_id, function_name, workflow_id, run_id, activity_id, attempt, round, provider, model,
                                  outcome, reason, prompt_tokens, completion_tokens, cost_usd, latency_ms, domain)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (workflow_id, run_id, activity_id, attempt) DO NOTHING`,
        [
          call.tenantId,
          call.functionName,
          call.workflowId,
          call.runId,
          call.activityId,
          call.attempt,
          call.round,
          call.provider,
          call.model,
          call.outcome,
          call.reason,
          call.promptTokens,
          call.completionTokens,
          call.costUsd,
          Math.round(call.latencyMs),
          call.domain,
        ],
      );
      if (inserted.rowCount === 0) return false;
      if (isSkipped(call.outcome)) return true;
      await tx.query(
        `INSERT INTO costs (tenant_id, day, provider, model, calls, prompt_tokens, completion_tokens, cost_usd)
         VALUES ($1, (now() AT TIME ZONE 'utc')::date, $2, $3, 1, $4, $5, $6)
         ON CONFLICT (tenant_id, day, provider, model) DO UPDATE SET
           calls = costs.calls + 1,
           prompt_tokens = costs.prompt_tokens + EXCLUDED.prompt_tokens,
           completion_tokens = costs.completion_tokens + EXCLUDED.completion_tokens,
           cost_usd = costs.cost_usd + EXCLUDED.cost_usd`,
        [call.tenantId, call.provider, call.model, call.promptTokens, call.completionTokens, call.costUsd],
      );
      return true;
    });
    if (fresh) this.onRecorded?.(call);
  }

  /** What the tenant's LLM calls cost today (UTC), the day the costs table books them on. */
  async spentToday(tenantId: string): Promise<number> {
    const res = await this.pool.query<{ spent: string }>(
      `SELECT coalesce(sum(cost_usd), 0) AS spent FROM costs WHERE tenant_id = $1 AND day = (now() AT TIME ZONE 'utc')::date`,
      [tenantId],
    );
    return Number(res.rows[0]!.spent);
  }

  /** Every call one activity execution made so far, attempt by attempt: Temporal's retries included. */
  async callsOf(workflowId: string, runId: string, activityId: string): Promise<GenerationAttempt[]> {
    const res = await this.pool.query<CallRow>(
      `SELECT provider, model, round, attempt, outcome, reason, prompt_tokens, completion_tokens, cost_usd, latency_ms
         FROM generations WHERE workflow_id = $1 AND run_id = $2 AND activity_id = $3 ORDER BY attempt`,
      [workflowId, runId, activityId],
    );
    return res.rows.map((row) => ({
      provider: row.provider,
      model: row.model,
      round: row.round,
      attempt: row.attempt,
      // 'answered' becomes accepted or invalid once validation has spoken (the workflow does that)
      outcome: row.outcome === 'answered' ? 'accepted' : row.outcome,
      reason: row.reason,
      prompt_tokens: row.prompt_tokens,
      completion_tokens: row.completion_tokens,
      cost_usd: Number(row.cost_usd),
      latency_ms: row.latency_ms,
    }));
  }
}
