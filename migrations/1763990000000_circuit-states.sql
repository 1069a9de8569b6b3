-- Up Migration
-- Each worker's LLM circuit states, refreshed on a timer: the API makes no LLM calls, yet its readiness and the
-- dashboard report the breakers. Rows of a worker that stopped reporting age out of what the API reads.
CREATE TABLE circuit_states (
  worker_id text NOT NULL,
  provider text NOT NULL,
  state text NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (worker_id, provider)
);

-- Down Migration
DROP TABLE circuit_states;
