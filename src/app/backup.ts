import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { fileDigests } from '../infra/db/lifecycle-repo';
import { sha256 } from '../infra/hash';
import { withTransaction } from '../infra/db/pool';
import { dumpDatabase, loadDatabase, type DatabaseDump } from '../infra/db/snapshot';
import { artifactName, type ArtifactStore, type StorageKind, type VersionFiles } from '../infra/storage/artifact-store';

/** The backup format (docs/tenant-data.md#backup-and-restore): a directory with this manifest, `db/` and `artifacts/`. */
export const BACKUP_FORMAT = 'poet-backup';
export const BACKUP_FORMAT_VERSION = 1;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  /** When the database snapshot was taken: the recovery point. */
  snapshot_at: string;
  database: DatabaseDump;
  /** `<artifact name>/v<N>/<file>` → SHA-256 of the file, for every version in the snapshot. */
  artifacts: Record<string, string>;
}

export interface BackupSummary {
  dir: string;
  snapshot_at: string;
  tables: number;
  rows: number;
  versions: number;
  artifact_files: number;
}

interface VersionRow {
  tenant_id: string;
  function_name: string;
  version: number;
  storage: StorageKind;
}

const MANIFEST = 'manifest.json';
const versionDir = (v: Pick<VersionRow, 'tenant_id' | 'function_name' | 'version'>) =>
  path.join(artifactName(v.tenant_id, v.function_name), `v${v.version}`);

/**
 * `poet backup` and `poet restore`: the database as one consistent snapshot plus, for every version in that
 * snapshot, its artifacts read through the artifact store (filesystem or S3), all into a directory. Artifacts are
 * written before their version row commits and never change after, so each version of the snapshot has its files.
 */
export class Backups {
  constructor(
    private readonly pool: Pool,
    private readonly store: ArtifactStore,
  ) {}

  async backup(dir: string): Promise<BackupSummary> {
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new Error(`${dir} is not empty: a backup goes into a new directory`);
    const snapshotAt = new Date().toISOString();
    const { dump, extra: versions } = await dumpDatabase(this.pool, path.join(dir, 'db'), async (tx) => {
      const { rows } = await tx.query<VersionRow>(
        'SELECT tenant_id, function_name, version, storage FROM versions ORDER BY tenant_id, function_name, version',
      );
      return rows;
    });
    const artifacts: Record<string, string> = {};
    for (const v of versions) {
      const files = await this.store.readVersion(
        { tenantId: v.tenant_id, functionName: v.function_name, version: v.version },
        v.storage,
      );
      const target = path.join(dir, 'artifacts', versionDir(v));
      await mkdir(target, { recursive: true });
      for (const [file, digest] of Object.entries(fileDigests(files))) {
        await writeFile(path.join(target, file), files[file as keyof VersionFiles] ?? '');
        artifacts[path.join(versionDir(v), file)] = digest;
      }
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      format_version: BACKUP_FORMAT_VERSION,
      snapshot_at: snapshotAt,
      database: dump,
      artifacts,
    };
    // Written last: a directory without a manifest is an unfinished backup, and restore refuses it.
    await writeFile(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    return {
      dir,
      snapshot_at: snapshotAt,
      tables: Object.keys(dump.tables).length,
      rows: Object.values(dump.tables).reduce((sum, t) => sum + t.rows, 0),
      versions: versions.length,
      artifact_files: Object.keys(artifacts).length,
    };
  }

  /** The manifest of a finished backup of a format this code reads; anything else is refused before any write. */
  async readManifest(dir: string): Promise<BackupManifest> {
    const text = await readFile(path.join(dir, MANIFEST), 'utf8').catch(() => {
      throw new Error(`${dir} holds no ${MANIFEST}: not a backup, or an unfinished one`);
    });
    const manifest = JSON.parse(text) as BackupManifest;
    if (manifest.format !== BACKUP_FORMAT || !(manifest.format_version <= BACKUP_FORMAT_VERSION))
      throw new Error(`${dir} is not a ${BACKUP_FORMAT} of version ${BACKUP_FORMAT_VERSION} or older`);
    return manifest;
  }

  /**
   * Into a migrated, empty database: the tables in one transaction, and each version's files written to the
   * artifact store (and its row pointed at where they went) before that transaction commits; then `current`.
   */
  async restore(dir: string, manifest: BackupManifest, appliedMigrations: string[]): Promise<BackupSummary> {
    const unknown = manifest.database.migrations.filter((m) => !appliedMigrations.includes(m));
    if (unknown.length > 0) throw new Error(`the backup is of a newer schema (migrations ${unknown.join(', ')})`);
    const versions = await withTransaction(this.pool, async (tx) => {
      await loadDatabase(tx, path.join(dir, 'db'), manifest.database);
      const { rows } = await tx.query<VersionRow>('SELECT tenant_id, function_name, version, storage FROM versions');
      for (const v of rows) {
        const files = await this.readVersionFiles(dir, manifest, v);
        const written = await this.store.writeVersion(
          { tenantId: v.tenant_id, functionName: v.function_name, version: v.version },
          files,
        );
        await tx.query(
          `UPDATE versions SET artifact_path = $4, storage = $5, artifact_key_id = $6
            WHERE tenant_id = $1 AND function_name = $2 AND version = $3`,
          [v.tenant_id, v.function_name, v.version, written.location, written.storage, written.keyId ?? null],
        );
      }
      return rows.length;
    });
    const { rows: current } = await this.pool.query<{ tenant_id: string; name: string; current_version: number }>(
      'SELECT tenant_id, name, current_version FROM functions WHERE current_version IS NOT NULL',
    );
    for (const f of current)
      await this.store.setCurrent({ tenantId: f.tenant_id, functionName: f.name, version: f.current_version });
    const tables = Object.values(manifest.database.tables);
    return {
      dir,
      snapshot_at: manifest.snapshot_at,
      tables: tables.length,
      rows: tables.reduce((sum, t) => sum + t.rows, 0),
      versions,
      artifact_files: Object.keys(manifest.artifacts).length,
    };
  }

  /** A version's files from the backup, each checked against the manifest. */
  private async readVersionFiles(dir: string, manifest: BackupManifest, v: VersionRow): Promise<VersionFiles> {
    const prefix = `${versionDir(v)}${path.sep}`;
    const entries = Object.entries(manifest.artifacts).filter(([key]) => key.startsWith(prefix));
    if (entries.length === 0) throw new Error(`the backup has no artifacts of ${versionDir(v)}`);
    const files: Record<string, string> = {};
    for (const [key, digest] of entries) {
      const content = await readFile(path.join(dir, 'artifacts', key), 'utf8');
      const file = key.slice(prefix.length);
      if (sha256(content) !== digest) throw new Error(`artifact ${key} does not match its SHA-256 in the manifest`);
      files[file] = content;
    }
    return files as unknown as VersionFiles;
  }
}
