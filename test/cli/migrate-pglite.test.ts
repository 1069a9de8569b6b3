import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ApiKeysRepo } from '../../src/infra/db/api-keys-repo';
import { createPool } from '../../src/infra/db/pool';
import { VersionsRepo } from '../../src/infra/db/versions-repo';
import { FilesystemArtifactStore } from '../../src/infra/storage/artifact-store';
import { uniqueSuffix } from '../helpers/stack';

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const run = promisify(execFile);

/**
 * A data directory as the former embedded default left it, written in a child process: PGlite loads its WASM through
 * dynamic imports, which jest's module sandbox refuses.
 */
async function formerDefault(dataDir: string): Promise<{ key: string; code: string }> {
  const { stdout } = await run(process.execPath, [path.join(__dirname, 'pglite-former-default.js'), dataDir], {
    cwd: root,
  });
  return JSON.parse(stdout) as { key: string; code: string };
}

const database = `poet_pglite_${uniqueSuffix()}`;
const admin = () => new Client({ connectionString: process.env.DATABASE_URL });
const targetUrl = () => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${database}`;
  return url.toString();
};
let dataDir: string;

beforeAll(async () => {
  const c = admin();
  await c.connect();
  await c.query(`CREATE DATABASE ${database}`);
  await c.end();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-pglite-'));
  mkdirSync(path.join(dataDir, 'functions'));
}, 120_000);

afterAll(async () => {
  const c = admin();
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await c.end();
  rmSync(dataDir, { recursive: true, force: true });
});

const migrateCli = (env: Record<string, string>) =>
  run(process.execPath, [cli, 'migrate-pglite'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'error', DATA_DIR: dataDir, ...env },
  });

describe('poet migrate-pglite', () => {
  test('moves keys, audit and versions into PostgreSQL, applies the migrations since, keeps the source', async () => {
    const { key, code } = await formerDefault(dataDir);
    const { stdout } = await migrateCli({ DATABASE_URL: targetUrl() });
    expect(stdout).toMatch(/^api_keys\t1$/m);
    expect(stdout).toMatch(/^audit_log\t1$/m);
    expect(stdout).toMatch(/^versions\t1$/m);

    const pool = createPool({ url: targetUrl(), schema: 'public', max: 2 });
    try {
      const verified = await new ApiKeysRepo(pool).verify(key);
      expect(verified).toMatchObject({ ok: true, key: { tenantId: 'acme', role: 'admin' } });
      const versions = new VersionsRepo(pool, new FilesystemArtifactStore(path.join(dataDir, 'functions')));
      const version = await versions.getVersion({ tenantId: 'acme', functionName: 'add', version: 1 });
      expect(version?.code.python).toBe(code);
      expect(version?.params).toEqual({ retries: 3, tags: ['x', 'y'] });
      const audit = await pool.query('SELECT details FROM audit_log');
      expect(audit.rows).toEqual([{ details: { note: "it's public.versions, {a,b}" } }]);
      // The migrations since that release were applied, over the moved rows: lineage columns with their defaults.
      const applied = await pool.query('SELECT name FROM pgmigrations ORDER BY run_on, id');
      expect(applied.rows.map((r) => `${r.name}.sql`)).toEqual(readdirSync(path.join(root, 'migrations')).sort());
      const lineage = await pool.query('SELECT trigger, parent_version FROM versions');
      expect(lineage.rows).toEqual([{ trigger: 'request', parent_version: null }]);
    } finally {
      await pool.end();
    }
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'pglite.migrated', 'PG_VERSION'))).toBe(true);
  }, 180_000);

  test('refuses a target that already holds rows, and a data dir without PGlite, with usage errors', async () => {
    cpSync(path.join(dataDir, 'pglite.migrated'), path.join(dataDir, 'pglite'), { recursive: true });
    const filled = await migrateCli({ DATABASE_URL: targetUrl() }).catch((err) => err);
    expect(filled.code).toBe(2);
    expect(filled.stderr).toMatch(/already holds rows in .*api_keys.*migrate into an empty database/);
    expect(existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

    rmSync(path.join(dataDir, 'pglite'), { recursive: true });
    const none = await migrateCli({ DATABASE_URL: targetUrl() }).catch((err) => err);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('holds no PGlite database');
  }, 60_000);
});
