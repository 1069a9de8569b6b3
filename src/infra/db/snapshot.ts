import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Pool, PoolClient } from 'pg';

/**
 * Process state, not data: rebuilt by the processes themselves (circuit states) or by the migrations a restore
 * applies first (the migrations table).
 */
const NOT_BACKED_UP = new Set(['pgmigrations', 'circuit_states']);
const FETCH_ROWS = 1000;
const INSERT_ROWS = 500;

export interface TableDump {
  rows: number;
  /** SHA-256 of the table's file: a restore refuses a file that changed. */
  sha256: string;
  columns: string[];
}

export interface DatabaseDump {
  migrations: string[];
  tables: Record<string, TableDump>;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function dataTables(db: Pool | PoolClient): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name).filter((name) => !NOT_BACKED_UP.has(name));
}

async function columnsOf(db: PoolClient, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.column_name);
}

/**
 * Every data table of the schema as NDJSON (`row_to_json`, which keeps every type's text form: bytea as hex,
 * numerics exact), all read in one REPEATABLE READ transaction: one consistent snapshot across tables, taken
 * without blocking writers. `inSnapshot` runs inside the same snapshot (the artifact list is read there).
 */
export async function dumpDatabase<T>(
  pool: Pool,
  dir: string,
  inSnapshot: (tx: PoolClient) => Promise<T>,
): Promise<{ dump: DatabaseDump; extra: T }> {
  await mkdir(dir, { recursive: true });
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const migrations = await client.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id');
    const tables: Record<string, TableDump> = {};
    for (const table of await dataTables(client)) {
      const file = createWriteStream(path.join(dir, `${table}.ndjson`));
      const hash = createHash('sha256');
      let rows = 0;
      await client.query(`DECLARE dump NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS j FROM ${ident(table)} t`);
      for (;;) {
        const batch = await client.query<{ j: string }>(`FETCH ${FETCH_ROWS} FROM dump`);
        for (const { j } of batch.rows) {
          const line = `${j}\n`;
          hash.update(line);
          if (!file.write(line)) await once(file, 'drain');
        }
        rows += batch.rows.length;
        if (batch.rows.length < FETCH_ROWS) break;
      }
      await client.query('CLOSE dump');
      file.end();
      await once(file, 'close');
      tables[table] = { rows, sha256: hash.digest('hex'), columns: await columnsOf(client, table) };
    }
    const extra = await inSnapshot(client);
    await client.query('COMMIT');
    return { dump: { migrations: migrations.rows.map((r) => r.name), tables }, extra };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/** Tables ordered so that every table comes after the tables its foreign keys point to. */
async function loadOrder(tx: PoolClient, tables: string[]): Promise<string[]> {
  const { rows } = await tx.query<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
      WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace`,
  );
  const ordered: string[] = [];
  const visit = (table: string, path: Set<string>) => {
    if (ordered.includes(table) || path.has(table)) return;
    path.add(table);
    for (const { parent } of rows.filter((r) => r.child === table && r.parent !== table)) visit(parent, path);
    ordered.push(table);
  };
  for (const table of tables) visit(table, new Set());
  return ordered.filter((t) => tables.includes(t));
}

/** Reads a table file, checking it against the dump's digest as it goes; the lines in batches. */
async function* batchesOf(file: string, expected: string): AsyncGenerator<string[]> {
  const hash = createHash('sha256');
  let batch: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    hash.update(`${line}\n`);
    batch.push(line);
    if (batch.length === INSERT_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (hash.digest('hex') !== expected)
    throw new Error(`${path.basename(file)} does not match its SHA-256 in the manifest`);
  if (batch.length > 0) yield batch;
}

/**
 * Loads a dump into the schema `tx` works in (migrated, every data table empty), inside the caller's transaction,
 * parents before children; then moves each serial column's sequence past the restored ids. Columns the schema has
 * and the dump does not (a later migration) take their defaults.
 */
export async function loadDatabase(tx: PoolClient, dir: string, dump: DatabaseDump): Promise<void> {
  const present = await dataTables(tx);
  const missing = Object.keys(dump.tables).filter((t) => !present.includes(t));
  if (missing.length > 0) throw new Error(`the schema has no table ${missing.join(', ')}`);
  for (const table of present) {
    const { rows } = await tx.query(`SELECT 1 FROM ${ident(table)} LIMIT 1`);
    if (rows.length > 0) throw new Error(`table ${table} is not empty: restore goes into an empty database`);
  }
  for (const table of await loadOrder(tx, Object.keys(dump.tables))) {
    const { columns, sha256 } = dump.tables[table]!;
    const list = columns.map(ident).join(', ');
    for await (const batch of batchesOf(path.join(dir, `${table}.ndjson`), sha256)) {
      await tx.query(
        `INSERT INTO ${ident(table)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${ident(table)}, $1::json)`,
        [`[${batch.join(',')}]`],
      );
    }
  }
  const { rows: serials } = await tx.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`,
  );
  for (const { table_name, column_name } of serials) {
    await tx.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT max(${ident(column_name)}) FROM ${ident(table_name)}), 0) + 1, false)`,
      [table_name, column_name],
    );
  }
}
