import type { Pool } from 'pg';
import { uniqueSuffix } from './stack';

/** One row of the `generations` table (migrations/1763900000000 and 1763930000000), as LlmUsageRepo writes it. */
export interface GenerationRow {
  tenant_id?: string;
  provider: string;
  model?: string;
  domain: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  latency_ms: number;
  outcome: 'answered' | 'bad_answer' | 'retryable_error' | 'failed' | 'circuit_open';
  age_hours?: number;
}

export async function insertGenerations(pool: Pool, rows: GenerationRow[]): Promise<void> {
  for (const r of rows) {
    await pool.query(
      `INSERT INTO generations (tenant_id, function_name, workflow_id, run_id, activity_id, attempt, round, provider, model, domain,
                                outcome, prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at)
       VALUES ($1, 'f', 'enhance-f-000000000000', $2, '1', 1, 0, $3, $4, $5, $6, $7, $8, $9, $10, now() - make_interval(hours => $11))`,
      [
        r.tenant_id ?? 'default',
        `run-${uniqueSuffix()}`,
        r.provider,
        r.model ?? 'm',
        r.domain,
        r.outcome,
        r.prompt_tokens,
        r.completion_tokens,
        r.cost_usd,
        r.latency_ms,
        r.age_hours ?? 0,
      ],
    );
  }
}
