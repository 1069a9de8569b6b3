-- Up Migration
-- The audit log stays append-only, with one exception: erasure of a tenant (src/infra/db/lifecycle-repo.ts) rewrites
-- that tenant's rows to a pseudonym inside its own transaction, after setting poet.erasing_tenant and
-- poet.erasure_pseudonym. Even then the row's id, time, actor key, action, request id, outcome and status cannot
-- change, the tenant id may only become the pseudonym, and the address only NULL; DELETE and TRUNCATE stay refused.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  erasing text := coalesce(current_setting('poet.erasing_tenant', true), '');
  pseudonym text := coalesce(current_setting('poet.erasure_pseudonym', true), '');
BEGIN
  IF TG_OP = 'UPDATE' AND erasing <> '' AND pseudonym <> ''
     AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action AND NEW.outcome = OLD.outcome
     AND NEW.status = OLD.status AND NEW.actor IS NOT DISTINCT FROM OLD.actor
     AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id
     AND (NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id OR (OLD.tenant_id = erasing AND NEW.tenant_id = pseudonym))
     AND (NEW.ip IS NOT DISTINCT FROM OLD.ip OR NEW.ip IS NULL) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
