-- Up Migration
-- The domain each LLM call generated for, so GET /api/v1/stats can group by it (failed runs included, which
-- leave no version row to join). Rows written before this migration have none and count as 'unknown'.
ALTER TABLE generations ADD COLUMN domain text;
CREATE INDEX generations_by_tenant_time ON generations (tenant_id, created_at);

-- Down Migration
DROP INDEX generations_by_tenant_time;
ALTER TABLE generations DROP COLUMN domain;
