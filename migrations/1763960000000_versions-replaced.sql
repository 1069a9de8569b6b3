-- Up Migration
-- The version a creation deprecated, so a retried storeVersion that finds its own committed row answers as the
-- first attempt did (created, and what it replaced) and the run still publishes version.created / deprecated.
ALTER TABLE versions ADD COLUMN replaced_version integer;

-- Down Migration
ALTER TABLE versions DROP COLUMN replaced_version;
