-- Up Migration
-- Every version records the input it answers and how it came to be: its parent (the version it was made from) and
-- its trigger. A rollback makes no version (its activated_at then differs from created_at). A regeneration answers
-- the same input as its parent, better: with input_hash inherited, "is this input answered by the active version"
-- holds across feedback, so an enhance never goes back to what feedback replaced.
-- normalized_input_hash finds the same input up to comments, layout and docstrings; code_sha256 (of code.py and
-- code.dana) tells a byte-identical module apart from a new one.
ALTER TABLE versions
  ADD COLUMN parent_version integer,
  ADD COLUMN trigger text NOT NULL DEFAULT 'request' CHECK (trigger IN ('request', 'feedback', 'reevaluation')),
  ADD COLUMN normalized_input_hash text,
  ADD COLUMN code_sha256 text;

-- Versions regenerated before lineage carry their guidance and a made-up input hash: each takes its parent's (the
-- version it replaced, active when it was regenerated), walking up to the request that started the chain.
WITH RECURSIVE chain AS (
  SELECT tenant_id, function_name, version, input_hash FROM versions WHERE NOT (metadata ? 'guidance')
  UNION ALL
  SELECT v.tenant_id, v.function_name, v.version, c.input_hash
    FROM versions v
    JOIN chain c ON c.tenant_id = v.tenant_id AND c.function_name = v.function_name AND c.version = v.replaced_version
   WHERE v.metadata ? 'guidance'
)
UPDATE versions v
   SET input_hash = c.input_hash, trigger = 'feedback', parent_version = v.replaced_version
  FROM chain c
 WHERE v.metadata ? 'guidance'
   AND c.tenant_id = v.tenant_id AND c.function_name = v.function_name AND c.version = v.version;

-- Down Migration
ALTER TABLE versions DROP COLUMN parent_version, DROP COLUMN trigger, DROP COLUMN normalized_input_hash,
  DROP COLUMN code_sha256;
