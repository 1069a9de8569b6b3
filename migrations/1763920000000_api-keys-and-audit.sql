-- Up Migration
-- API keys: only a SHA-256 of the whole key is kept; `id` is the public prefix shown in lists and logs.
CREATE TABLE api_keys (
  id           text        PRIMARY KEY,
  key_hash     text        NOT NULL,
  tenant_id    text        NOT NULL,
  role         text        NOT NULL CHECK (role IN ('viewer', 'agent', 'operator', 'admin')),
  name         text        NOT NULL,
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);

-- Audit log: append-only. The trigger refuses UPDATE, DELETE and TRUNCATE for every role, owner included.
CREATE TABLE audit_log (
  id          bigserial   PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text,
  tenant_id   text,
  action      text        NOT NULL,
  target      text,
  request_id  text,
  outcome     text        NOT NULL CHECK (outcome IN ('success', 'denied', 'rejected', 'error')),
  status      integer     NOT NULL,
  ip          text,
  details     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE api_keys;
