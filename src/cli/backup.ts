import { performance } from 'node:perf_hooks';
import { Backups, type BackupSummary } from '../app/backup';
import type { Config } from '../config';
import { createPool, migrate } from '../infra/db/pool';
import type { Logger } from '../infra/observability/logger';
import { createArtifactStore } from '../infra/storage/encrypted-artifact-store';
import type { Output } from './client';
import { databaseUrl } from './keys';

/** The database (DATABASE_URL, or a running `poet start`'s embedded one) and the configured artifact store. */
async function withBackups<T>(
  config: Config,
  logger: Logger,
  run: (backups: Backups, url: string) => Promise<T>,
): Promise<T> {
  const url = databaseUrl(config);
  const pool = createPool({ url, schema: config.DATABASE_SCHEMA, max: 2, process: 'backup' });
  const artifacts = createArtifactStore(config, logger);
  try {
    return await run(new Backups(pool, artifacts.store), url);
  } finally {
    artifacts.close();
    await pool.end();
  }
}

function report(out: Output, verb: string, summary: BackupSummary, seconds: number): void {
  if (out.json) {
    out.out(JSON.stringify({ ...summary, seconds }));
    return;
  }
  out.out(
    `${verb} ${summary.dir}: snapshot of ${summary.snapshot_at}, ${summary.rows} rows in ${summary.tables} tables, ` +
      `${summary.versions} versions (${summary.artifact_files} artifact files) in ${seconds.toFixed(2)} s`,
  );
}

/** `poet backup <dir>`: a consistent snapshot of the database plus every version's artifacts, into a new directory. */
export async function backupCommand(config: Config, dir: string, logger: Logger, out: Output): Promise<void> {
  await withBackups(config, logger, async (backups) => {
    const started = performance.now();
    const summary = await backups.backup(dir);
    report(out, 'backed up to', summary, (performance.now() - started) / 1000);
  });
}

/** `poet restore <dir>`: migrates the (empty) database, loads the snapshot and writes the artifacts back. */
export async function restoreCommand(config: Config, dir: string, logger: Logger, out: Output): Promise<void> {
  await withBackups(config, logger, async (backups, url) => {
    const started = performance.now();
    const manifest = await backups.readManifest(dir);
    await migrate({ url, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
    const applied = await migrationNames(url, config.DATABASE_SCHEMA);
    const summary = await backups.restore(dir, manifest, applied);
    report(out, 'restored from', summary, (performance.now() - started) / 1000);
  });
}

async function migrationNames(url: string, schema: string): Promise<string[]> {
  const pool = createPool({ url, schema, max: 1, process: 'restore' });
  try {
    return (await pool.query<{ name: string }>('SELECT name FROM pgmigrations')).rows.map((r) => r.name);
  } finally {
    await pool.end();
  }
}
