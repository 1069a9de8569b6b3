-- Up Migration
-- Field-level encryption: the id of the key a row's encrypted fields are under (every encrypted field of a row is
-- written under one key, in the `enc:v1:<key id>:<base64>` envelope), so rotation finds rows not under the active key
-- and `poet keys retire` counts a key's rows without reading them. NULL: plaintext fields (written without a key ring,
-- or before this column). versions.artifact_key_id: the key of the version's artifact files, NULL when they are
-- plaintext (ARTIFACT_ENCRYPTION off).
ALTER TABLE versions ADD COLUMN key_id text, ADD COLUMN artifact_key_id text;
ALTER TABLE feedback ADD COLUMN key_id text;
ALTER TABLE feedback_examples ADD COLUMN key_id text;
CREATE INDEX versions_key_id ON versions (key_id);
CREATE INDEX versions_artifact_key_id ON versions (artifact_key_id) WHERE artifact_key_id IS NOT NULL;
CREATE INDEX feedback_key_id ON feedback (key_id);
CREATE INDEX feedback_examples_key_id ON feedback_examples (key_id);

-- Down Migration
ALTER TABLE versions DROP COLUMN key_id, DROP COLUMN artifact_key_id;
ALTER TABLE feedback DROP COLUMN key_id;
ALTER TABLE feedback_examples DROP COLUMN key_id;
