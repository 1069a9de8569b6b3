-- Up Migration
-- A hash chain over the audit log, and the one rewrite the append-only log allows: erasure of a tenant.
--
-- Chain: each row gets the next chain_seq and row_hash = SHA-256 over the previous row's hash and the fields an
-- erasure keeps (id, time, actor key, action, request id, outcome, status). Pseudonymizing a tenant's rows changes
-- none of them, so the chain still verifies after an erasure; a row removed, inserted or edited breaks it
-- (audit_log_chain_breaks() lists where). A row inserted with its hash already set (a restore) keeps it: the
-- verification recomputes every hash anyway.
ALTER TABLE audit_log ADD COLUMN chain_seq bigint, ADD COLUMN prev_hash text, ADD COLUMN row_hash text;

CREATE FUNCTION audit_log_chain_hash(prev text, r audit_log) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\x1f', coalesce(prev, ''), r.id::text,
    (extract(epoch FROM r.at) * 1000000)::bigint::text, coalesce(r.actor, ''), r.action, coalesce(r.request_id, ''),
    r.outcome, r.status::text), 'UTF8')), 'hex')
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last audit_log%ROWTYPE;
BEGIN
  IF NEW.row_hash IS NOT NULL THEN
    RETURN NEW;
  END IF;
  -- One link at a time: held until the inserting transaction ends, so chain_seq follows commit order.
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log_chain'));
  SELECT * INTO last FROM audit_log ORDER BY chain_seq DESC NULLS LAST LIMIT 1;
  NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
  NEW.prev_hash := last.row_hash;
  NEW.row_hash := audit_log_chain_hash(NEW.prev_hash, NEW);
  RETURN NEW;
END;
$$;

-- Rows from before this migration are chained in id order.
DO $$
DECLARE
  r audit_log%ROWTYPE;
  prev text;
  seq bigint := 0;
BEGIN
  ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
  FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
    seq := seq + 1;
    r.chain_seq := seq;
    r.prev_hash := prev;
    prev := audit_log_chain_hash(prev, r);
    UPDATE audit_log SET chain_seq = seq, prev_hash = r.prev_hash, row_hash = prev WHERE id = r.id;
  END LOOP;
  ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;
END;
$$;
ALTER TABLE audit_log ALTER COLUMN chain_seq SET NOT NULL, ALTER COLUMN row_hash SET NOT NULL;
CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log (chain_seq);

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- Where the chain is broken: rows whose hash does not match their fields, or whose prev_hash is not the hash of
-- the row before them. Empty when the log is whole.
CREATE FUNCTION audit_log_chain_breaks() RETURNS TABLE (chain_seq bigint, reason text) LANGUAGE sql STABLE AS $$
  SELECT s.chain_seq, CASE WHEN s.row_hash <> s.expected THEN 'row changed' ELSE 'link broken' END
    FROM (SELECT l.chain_seq, l.row_hash, l.prev_hash, audit_log_chain_hash(l.prev_hash, l) AS expected,
                 lag(l.row_hash) OVER w AS before, lag(l.chain_seq) OVER w AS seq_before
            FROM audit_log l WINDOW w AS (ORDER BY l.chain_seq)) s
   WHERE s.row_hash <> s.expected OR s.prev_hash IS DISTINCT FROM s.before
      OR s.chain_seq <> coalesce(s.seq_before, 0) + 1
   ORDER BY s.chain_seq
$$;

-- The audit log stays append-only, with one exception: erasure of a tenant (src/infra/db/lifecycle-repo.ts) rewrites
-- that tenant's rows to a pseudonym inside its own transaction, after setting poet.erasing_tenant and
-- poet.erasure_pseudonym. Even then the row's id, time, actor key, action, request id, outcome, status and chain
-- cannot change, the tenant id may only become the pseudonym, and the address only NULL; DELETE and TRUNCATE stay
-- refused.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  erasing text := coalesce(current_setting('poet.erasing_tenant', true), '');
  pseudonym text := coalesce(current_setting('poet.erasure_pseudonym', true), '');
BEGIN
  IF TG_OP = 'UPDATE' AND erasing <> '' AND pseudonym <> ''
     AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action AND NEW.outcome = OLD.outcome
     AND NEW.status = OLD.status AND NEW.actor IS NOT DISTINCT FROM OLD.actor
     AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id
     AND NEW.chain_seq = OLD.chain_seq AND NEW.prev_hash IS NOT DISTINCT FROM OLD.prev_hash
     AND NEW.row_hash = OLD.row_hash
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
DROP FUNCTION audit_log_chain_breaks();
DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION audit_log_chain();
DROP INDEX audit_log_chain_seq;
ALTER TABLE audit_log DROP COLUMN chain_seq, DROP COLUMN prev_hash, DROP COLUMN row_hash;
DROP FUNCTION audit_log_chain_hash(text, audit_log);
