-- Up Migration
-- Webhook subscriptions of a tenant. `secret` is the HMAC-SHA256 key deliveries are signed with: signing needs the
-- key itself, so it is kept (never returned after the 201 that shows it), and a delete removes it with the row.
CREATE TABLE webhooks (
  id          text        PRIMARY KEY,
  tenant_id   text        NOT NULL,
  url         text        NOT NULL,
  event_types text[]      NOT NULL,
  description text,
  secret      text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, created_at, id);

-- The delivery log: one row per attempt (test pings have no event row).
CREATE TABLE webhook_deliveries (
  id               bigserial   PRIMARY KEY,
  tenant_id        text        NOT NULL,
  webhook_id       text        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  delivery_id      text        NOT NULL,
  event_id         bigint,
  event_type       text        NOT NULL,
  attempt          integer     NOT NULL,
  outcome          text        NOT NULL CHECK (outcome IN ('delivered', 'failed', 'blocked')),
  will_retry       boolean     NOT NULL,
  status_code      integer,
  error            text,
  response_excerpt text,
  duration_ms      integer     NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Set on insert when the tenant had a webhook then; cleared once the event's delivery workflow has started.
-- A row left set (a process died in between) is picked up by the worker's sweep.
ALTER TABLE events ADD COLUMN webhooks_pending boolean NOT NULL DEFAULT false;
CREATE INDEX events_webhooks_pending ON events (id) WHERE webhooks_pending;

-- Down Migration
DROP INDEX events_webhooks_pending;
ALTER TABLE events DROP COLUMN webhooks_pending;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
