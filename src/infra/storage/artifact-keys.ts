import type { Pool } from 'pg';
import type { ReencryptPageResult } from '../../contracts/key-rotation';
import type { FieldCipher } from '../crypto/field-cipher';
import { EncryptionKeyUnavailable } from '../crypto/key-ring';
import { bump, emptyPage, endOfPage } from '../crypto/reencrypt-page';
import type { ArtifactStore, StorageKind, VersionFiles } from './artifact-store';

interface Row {
  id: string;
  tenant_id: string;
  function_name: string;
  version: number;
  storage: StorageKind;
  artifact_key_id: string;
}

/**
 * Re-encryption of encrypted artifact files (ARTIFACT_ENCRYPTION) to the active key, a version's files at a time,
 * found through versions.artifact_key_id. `raw` is the store without encryption: files go through this class's
 * cipher whether or not this process writes new versions encrypted. A version's files are rewritten whole where they
 * are, then its key id is set by compare-and-set; a crash in between rewrites them again, to the same plaintext under
 * the same key. Files written in plaintext stay so: rotation changes keys, it does not turn encryption on.
 */
export class ArtifactKeys {
  constructor(
    private readonly pool: Pool,
    private readonly raw: ArtifactStore,
    private readonly cipher: FieldCipher,
  ) {}

  async reencryptPage(
    after: string | undefined,
    limit: number,
    countRemaining: boolean,
  ): Promise<ReencryptPageResult & { last?: string }> {
    const target = this.cipher.activeKeyId!;
    const { rows } = await this.pool.query<Row>(
      `SELECT id, tenant_id, function_name, version, storage, artifact_key_id FROM versions
        WHERE artifact_key_id <> $1 AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [target, after || null, limit],
    );
    const result = emptyPage(rows.length);
    for (const row of rows) {
      const ref = { tenantId: row.tenant_id, functionName: row.function_name, version: row.version };
      const files = await this.raw.readVersion(ref, row.storage);
      let sealed: VersionFiles;
      try {
        sealed = Object.fromEntries(
          Object.entries(files).map(([name, content]) => [
            name,
            this.cipher.sealText(this.cipher.openText(content as string)),
          ]),
        ) as unknown as VersionFiles;
      } catch (err) {
        if (!(err instanceof EncryptionKeyUnavailable)) throw err;
        bump(result.unreadable, row.artifact_key_id);
        continue;
      }
      await this.raw.writeVersion(ref, sealed, row.storage);
      const res = await this.pool.query(
        'UPDATE versions SET artifact_key_id = $2 WHERE id = $1 AND artifact_key_id = $3',
        [row.id, target, row.artifact_key_id],
      );
      if (res.rowCount === 1) bump(result.rewritten, row.artifact_key_id);
      else result.concurrent++;
    }
    return endOfPage(
      result,
      rows.map((r) => r.id),
      limit,
      countRemaining ? (last) => this.count(target, last) : undefined,
    );
  }

  /** Versions whose files are encrypted under a key other than `target`, after row id `after`. */
  async count(target: string, after?: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM versions WHERE artifact_key_id <> $1 AND ($2::bigint IS NULL OR id > $2)`,
      [target, after ?? null],
    );
    return rows[0]!.n;
  }

  /** Versions per key id their files are encrypted under (versions with plaintext files are not counted). */
  async usage(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ key_id: string; n: number }>(
      'SELECT artifact_key_id AS key_id, count(*)::int AS n FROM versions WHERE artifact_key_id IS NOT NULL GROUP BY 1',
    );
    return Object.fromEntries(rows.map((r) => [r.key_id, r.n]));
  }
}
