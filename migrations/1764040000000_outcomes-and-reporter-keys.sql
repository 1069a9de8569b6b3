-- Up Migration
-- A reporter key may only send outcome reports.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
  CHECK (role IN ('viewer', 'agent', 'operator', 'admin', 'reporter'));

-- Field outcomes of a version, one row per minute: calls, successes, attempts, a latency histogram (80 buckets, each
-- 25 % wider than the last; src/app/latency-histogram.ts) and failed calls by exception class. Reports arrive in
-- batches and are added to their minute's row, so volume costs rows per minute, not per call.
CREATE TABLE outcome_buckets (
  tenant_id      text        NOT NULL,
  function_name  text        NOT NULL,
  version        integer     NOT NULL,
  bucket         timestamptz NOT NULL,
  calls          bigint      NOT NULL,
  successes      bigint      NOT NULL,
  attempts       bigint      NOT NULL,
  latency_ms_sum float8      NOT NULL,
  latency_counts bigint[]    NOT NULL,
  errors         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (tenant_id, function_name, version, bucket)
);

-- Down Migration
DROP TABLE outcome_buckets;
DELETE FROM api_keys WHERE role = 'reporter';
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('viewer', 'agent', 'operator', 'admin'));
