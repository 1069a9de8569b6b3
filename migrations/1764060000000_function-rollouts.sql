-- Up Migration
-- A function's progressive rollout, as its rolloutVersion run records it: while it is running or paused, resolve
-- sends the units whose bucket is below share_percent × 100 to the candidate and the others to the baseline (the
-- active version). A finished rollout keeps its row (promoted, rolled_back, aborted) until the next one replaces it.
CREATE TABLE function_rollouts (
  tenant_id         text        NOT NULL,
  function_name     text        NOT NULL,
  candidate_version integer     NOT NULL,
  baseline_version  integer     NOT NULL,
  share_percent     integer     NOT NULL CHECK (share_percent BETWEEN 0 AND 100),
  status            text        NOT NULL CHECK (status IN ('running', 'paused', 'promoted', 'rolled_back', 'aborted')),
  workflow_id       text        NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, function_name)
);

-- Down Migration
DROP TABLE function_rollouts;
