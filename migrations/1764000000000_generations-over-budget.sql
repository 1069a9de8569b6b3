-- Up Migration
-- A call the tenant's daily LLM budget (LLM_DAILY_BUDGET_USD) refused before it was made: recorded like a call an
-- open circuit skipped, so metadata.attempts says why the chain moved on, and never counted as spend.
ALTER TABLE generations DROP CONSTRAINT generations_outcome_check;
ALTER TABLE generations ADD CONSTRAINT generations_outcome_check
  CHECK (outcome IN ('answered', 'bad_answer', 'retryable_error', 'failed', 'circuit_open', 'over_budget'));

-- Down Migration
DELETE FROM generations WHERE outcome = 'over_budget';
ALTER TABLE generations DROP CONSTRAINT generations_outcome_check;
ALTER TABLE generations ADD CONSTRAINT generations_outcome_check
  CHECK (outcome IN ('answered', 'bad_answer', 'retryable_error', 'failed', 'circuit_open'));
