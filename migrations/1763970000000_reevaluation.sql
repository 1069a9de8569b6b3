-- Up Migration
-- Where scheduled re-evaluation left off per function: feedback up to last_feedback_id has been evaluated,
-- so the next run looks only at functions with newer feedback on their active version.
CREATE TABLE evaluations (
  tenant_id        text        NOT NULL,
  function_name    text        NOT NULL,
  last_feedback_id bigint      NOT NULL,
  version          integer     NOT NULL,
  outcome          text        NOT NULL,
  evaluated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, function_name),
  FOREIGN KEY (tenant_id, function_name) REFERENCES functions (tenant_id, name)
);

-- Down Migration
DROP TABLE evaluations;
