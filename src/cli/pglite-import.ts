import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { Config } from '../config';
import { migrate } from '../infra/db/pool';
import type { Logger } from '../infra/observability/logger';
import { usageError } from './client';
import { startEmbeddedPostgres } from './embedded-postgres';

/**
 * The PGlite release the former embedded default wrote its data with, and the WASM pg_dump built for that line.
 * They are fetched from the registry on first use rather than shipped: 35 MB every install would carry for a
 * one-time move. pglite-tools pins an older pglite as its peer; its dump reads this release's data (a test shows it).
 */
export const PGLITE_TOOLS = {
  '@electric-sql/pglite': '0.5.14',
  '@electric-sql/pglite-tools': '0.4.8',
  '@electric-sql/pglite-socket': '0.2.17',
} as const;

interface PGliteDb {
  query<T>(sql: string): Promise<{ rows: T[] }>;
  close(): Promise<void>;
}

export interface PgliteTools {
  PGlite: new (dataDir: string) => PGliteDb;
  pgDump(opts: { pg: PGliteDb; args: string[] }): Promise<{ text(): Promise<string> }>;
  require: NodeJS.Require;
}

/** Installs the pinned tools once into the user's cache (like scripts/node.sh does for Node) and loads them. */
export function pgliteTools(cacheRoot = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache')): PgliteTools {
  const dir = path.join(cacheRoot, 'poet-service', `pglite-${PGLITE_TOOLS['@electric-sql/pglite']}`);
  const marker = path.join(dir, '.installed');
  if (!existsSync(marker)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        dir,
        '--no-save',
        '--legacy-peer-deps',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        ...Object.entries(PGLITE_TOOLS).map(([name, version]) => `${name}@${version}`),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    writeFileSync(marker, '');
  }
  const load = createRequire(path.join(dir, 'package.json'));
  return {
    PGlite: load('@electric-sql/pglite').PGlite,
    pgDump: load('@electric-sql/pglite-tools/pg_dump').pgDump,
    require: load,
  };
}

/** What moved: rows per table of the source, as the target holds them after the load. */
export type MigratedRows = Record<string, number>;

/**
 * `poet migrate-pglite`: moves the database the former embedded default kept in DATA_DIR/pglite into PostgreSQL
 * (DATABASE_URL, else the embedded server, started for the move), then applies the migrations since. The source is
 * dumped with PGlite's own pg_dump and loaded into an empty schema in one transaction, so a failure leaves the target
 * as it was; the source directory is renamed to `pglite.migrated` afterwards, never deleted.
 */
export async function migratePglite(config: Config, logger: Logger, from?: string): Promise<MigratedRows> {
  const source = path.resolve(from ?? path.join(config.dataDir, 'pglite'));
  if (!existsSync(path.join(source, 'PG_VERSION')))
    throw usageError(`${source} holds no PGlite database (no PG_VERSION): nothing to migrate`);
  const schema = config.DATABASE_SCHEMA;
  const dump = await dumpPglite(source, schema);
  const target = await targetDatabase(config, logger);
  try {
    await load(target.url, schema, dump);
    await migrate({ url: target.url, schema, dir: config.migrationsDir, logger });
    const rows = await countRows(target.url, schema);
    renameSync(source, `${source}.migrated`);
    return rows;
  } finally {
    await target.stop();
  }
}

/**
 * Dumps a copy of the source, its schema first renamed to the target's, so the dump names the schema it lands in
 * (rewriting `public.` in the dump's text would also rewrite the stored code that mentions it).
 */
async function dumpPglite(source: string, schema: string): Promise<string> {
  const tools = pgliteTools();
  const copy = mkdtempSync(path.join(os.tmpdir(), 'poet-pglite-'));
  try {
    cpSync(source, copy, { recursive: true });
    const pg = new tools.PGlite(copy);
    try {
      if (schema !== 'public') await pg.query(`ALTER SCHEMA public RENAME TO ${schema}`);
      const args = ['--inserts', '--no-owner', '--no-privileges', `--schema=${schema}`];
      return portableHeader(await (await tools.pgDump({ pg, args })).text());
    } finally {
      await pg.close();
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/**
 * pg_dump 17 opens with `SET transaction_timeout`, which servers before 17 refuse; it only shapes the loading session.
 * Only the header is touched: a stored function's text could hold the same line.
 */
function portableHeader(dump: string): string {
  const body = dump.search(/^CREATE /m);
  const header = body < 0 ? dump : dump.slice(0, body);
  return header.replace(/^SET transaction_timeout = 0;$/m, '') + (body < 0 ? '' : dump.slice(body));
}

async function targetDatabase(config: Config, logger: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, stop: async () => undefined };
  if (await listening(config.EMBEDDED_PG_PORT))
    throw usageError(
      `something listens on 127.0.0.1:${config.EMBEDDED_PG_PORT} (EMBEDDED_PG_PORT): stop \`npm start\` before migrating, ` +
        'so nothing writes while the tables are replaced',
    );
  const server = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.EMBEDDED_PG_PORT,
    env: process.env,
    logger,
  });
  return { url: server.url, stop: server.stop };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Replaces the target schema by the dump, refusing a target that already holds rows: merging two histories of
 * versions and audit chains is not a move.
 */
async function load(url: string, schema: string, dump: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const filled = await tablesWithRows(client, schema);
    if (filled.length > 0)
      throw usageError(
        `the target schema "${schema}" already holds rows in ${filled.join(', ')}: migrate into an empty database`,
      );
    await client.query('BEGIN');
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    // pg_dump creates the schemas it dumps, except `public`, which every database is assumed to have.
    if (!/^CREATE SCHEMA /m.test(dump)) await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(dump);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

async function tablesWithRows(client: Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'pgmigrations'`,
    [schema],
  );
  const filled: string[] = [];
  for (const { table_name } of rows) {
    const { rows: any } = await client.query(`SELECT 1 FROM ${schema}."${table_name}" LIMIT 1`);
    if (any.length > 0) filled.push(table_name);
  }
  return filled;
}

async function countRows(url: string, schema: string): Promise<MigratedRows> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`,
      [schema],
    );
    const counts: MigratedRows = {};
    for (const { table_name } of rows) {
      const { rows: n } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}."${table_name}"`);
      counts[table_name] = Number(n[0]!.n);
    }
    return counts;
  } finally {
    await client.end();
  }
}
