-- Up Migration
-- Every payload row records the tenant whose run stored it, so the codec endpoint decodes only the caller's tenant's
-- payloads. The same content stored by two tenants is two rows. '' marks a payload whose run's tenant was not known
-- when it was stored (and rows from before this migration): only operators decode those.
ALTER TABLE payloads ADD COLUMN tenant_id text NOT NULL DEFAULT '';
ALTER TABLE payloads DROP CONSTRAINT payloads_pkey;
ALTER TABLE payloads ADD PRIMARY KEY (id, tenant_id);

-- Down Migration
DELETE FROM payloads a USING payloads b WHERE a.id = b.id AND a.tenant_id > b.tenant_id;
ALTER TABLE payloads DROP CONSTRAINT payloads_pkey;
ALTER TABLE payloads DROP COLUMN tenant_id;
ALTER TABLE payloads ADD PRIMARY KEY (id);
