-- Up Migration
-- Every LLM call (each Temporal attempt of each generation activity): what it cost and how it ended.
CREATE TABLE generations (
  id                bigserial   PRIMARY KEY,
  tenant_id         text        NOT NULL,
  function_name     text        NOT NULL,
  workflow_id       text        NOT NULL,
  run_id            text        NOT NULL,
  activity_id       text        NOT NULL,
  attempt           integer     NOT NULL CHECK (attempt > 0),
  round             integer     NOT NULL CHECK (round >= 0),
  provider          text        NOT NULL,
  model             text        NOT NULL,
  outcome           text        NOT NULL CHECK (outcome IN ('answered', 'bad_answer', 'retryable_error', 'failed', 'circuit_open')),
  reason            text,
  prompt_tokens     integer     NOT NULL DEFAULT 0,
  completion_tokens integer     NOT NULL DEFAULT 0,
  cost_usd          numeric(14, 8) NOT NULL DEFAULT 0,
  latency_ms        integer     NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  -- one row per activity attempt: a retried record finds its own row
  UNIQUE (workflow_id, run_id, activity_id, attempt)
);
CREATE INDEX generations_by_function ON generations (tenant_id, function_name, created_at);

-- Spend per tenant, provider, model and UTC day, kept in step with generations in one transaction.
CREATE TABLE costs (
  tenant_id         text        NOT NULL,
  day               date        NOT NULL,
  provider          text        NOT NULL,
  model             text        NOT NULL,
  calls             integer     NOT NULL DEFAULT 0,
  prompt_tokens     bigint      NOT NULL DEFAULT 0,
  completion_tokens bigint      NOT NULL DEFAULT 0,
  cost_usd          numeric(16, 8) NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, provider, model)
);

-- Custom domains of a tenant; built-in domains live in code (src/poet/domains.ts).
CREATE TABLE domains (
  tenant_id   text        NOT NULL,
  name        text        NOT NULL,
  settings    jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- Down Migration
DROP TABLE domains;
DROP TABLE costs;
DROP TABLE generations;
