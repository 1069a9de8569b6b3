-- Up Migration
-- Outcomes users expect of a function (feedback examples): every later version of the function, in that tenant, must
-- give each one or it is not stored. Append-only: a cached validation that saw fewer than the function now has is stale.
-- One expectation per call (args and kwargs, hashed in call_hash): the same call again with the same outcome is one
-- row; with another outcome it is refused.
CREATE TABLE feedback_examples (
  id             bigserial   PRIMARY KEY,
  tenant_id      text        NOT NULL,
  function_name  text        NOT NULL,
  feedback_id    bigint      NOT NULL REFERENCES feedback (id),
  call_hash      text        NOT NULL,
  example        jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, function_name, call_hash)
);

-- Down Migration
DROP TABLE feedback_examples;
