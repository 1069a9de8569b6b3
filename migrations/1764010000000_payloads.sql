-- Up Migration
-- The claim-check store (src/infra/claim-check.ts): workflow and activity payloads over PAYLOAD_CLAIM_CHECK_BYTES,
-- keyed by their SHA-256; histories hold a reference. created_at is refreshed when a run writes the payload again.
CREATE TABLE payloads (
  id text PRIMARY KEY,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payloads_created_at ON payloads (created_at);

-- Down Migration
DROP TABLE payloads;
