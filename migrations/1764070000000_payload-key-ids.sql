-- Up Migration
-- The id of the key each payload row is encrypted under, written with the row, so key rotation finds what is not
-- under the active key and `poet keys retire` counts a key's rows without reading them. NULL: a row from before this
-- column (or written without encryption); rotation reads and classifies those.
ALTER TABLE payloads ADD COLUMN key_id text;
CREATE INDEX payloads_key_id ON payloads (key_id);

-- Down Migration
ALTER TABLE payloads DROP COLUMN key_id;
