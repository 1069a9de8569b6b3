-- Up Migration
CREATE TABLE functions (
  tenant_id       text        NOT NULL DEFAULT 'default',
  name            text        NOT NULL,
  current_version integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE versions (
  id               bigserial   PRIMARY KEY,
  tenant_id        text        NOT NULL,
  function_name    text        NOT NULL,
  version          integer     NOT NULL CHECK (version > 0),
  status           text        NOT NULL CHECK (status IN ('active', 'deprecated')),
  -- workflow id + run id of the run that made it: a retried storeVersion finds its own row
  idempotency_key  text        NOT NULL UNIQUE,
  input_hash       text        NOT NULL,
  domain           text        NOT NULL,
  optimize_for     text,
  provider         text        NOT NULL,
  enhancer_version text        NOT NULL,
  safety_level     text        NOT NULL,
  params           jsonb       NOT NULL,
  metadata         jsonb       NOT NULL,
  artifact_path    text        NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, function_name, version),
  FOREIGN KEY (tenant_id, function_name) REFERENCES functions (tenant_id, name)
);
CREATE UNIQUE INDEX versions_one_active ON versions (tenant_id, function_name) WHERE status = 'active';

-- The outbox: publish writes here first, then appends to the Redis stream and marks streamed_at.
CREATE TABLE events (
  id            bigserial   PRIMARY KEY,
  tenant_id     text        NOT NULL,
  function_name text        NOT NULL,
  event_type    text        NOT NULL,
  dedupe_key    text        NOT NULL UNIQUE,
  workflow_id   text,
  run_id        text,
  payload       jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  streamed_at   timestamptz
);
CREATE INDEX events_by_function ON events (tenant_id, function_name, created_at, id);
CREATE INDEX events_unstreamed ON events (id) WHERE streamed_at IS NULL;

-- Down Migration
DROP TABLE events;
DROP TABLE versions;
DROP TABLE functions;
