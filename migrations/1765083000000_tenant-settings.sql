-- Up Migration
-- A tenant's own settings (the API's /api/v1/tenant/settings), one JSON document per tenant, checked by the API's
-- schema: a tenant without a row has the defaults (no automatic rollouts).
CREATE TABLE tenant_settings (
  tenant_id  text        PRIMARY KEY,
  settings   jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE tenant_settings;
