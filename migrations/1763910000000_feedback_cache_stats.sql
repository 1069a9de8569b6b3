-- Up Migration
-- The request a version was made from: regeneration from feedback runs it again with learned guidance.
ALTER TABLE versions ADD COLUMN request jsonb;
-- Where the artifacts went: 'filesystem', 's3', or 'filesystem-fallback' (S3 was unreachable when stored).
ALTER TABLE versions ADD COLUMN storage text NOT NULL DEFAULT 'filesystem';
ALTER TABLE versions ADD COLUMN activated_at timestamptz;

CREATE TABLE feedback (
  id             bigserial   PRIMARY KEY,
  tenant_id      text        NOT NULL,
  function_name  text        NOT NULL,
  version        integer     NOT NULL,
  execution_id   text        NOT NULL,
  feedback_type  text        NOT NULL CHECK (feedback_type IN ('performance', 'error', 'user', 'system')),
  rating         smallint    CHECK (rating BETWEEN 1 AND 5),
  comments       text,
  metrics        jsonb,
  suggestions    jsonb       NOT NULL DEFAULT '[]',
  created_at     timestamptz NOT NULL DEFAULT now(),
  -- A client retrying the same report is counted once.
  UNIQUE (tenant_id, function_name, execution_id, version),
  FOREIGN KEY (tenant_id, function_name, version) REFERENCES versions (tenant_id, function_name, version)
);
CREATE INDEX feedback_by_version ON feedback (tenant_id, function_name, version, id);

-- Hit, miss and error counts per cache layer, flushed from each worker's counters.
CREATE TABLE cache_stats (
  tenant_id  text        NOT NULL,
  layer      text        NOT NULL CHECK (layer IN ('l0', 'l1', 'l2')),
  hits       bigint      NOT NULL DEFAULT 0,
  misses     bigint      NOT NULL DEFAULT 0,
  errors     bigint      NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, layer)
);

-- Keyset pagination of a function's events, newest first.
CREATE INDEX events_by_function_id ON events (tenant_id, function_name, id);

-- Down Migration
DROP INDEX events_by_function_id;
DROP TABLE cache_stats;
DROP TABLE feedback;
ALTER TABLE versions DROP COLUMN activated_at;
ALTER TABLE versions DROP COLUMN storage;
ALTER TABLE versions DROP COLUMN request;
