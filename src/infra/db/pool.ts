import path from 'node:path';
import { Client, DatabaseError, Pool, type PoolClient } from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from '../observability/logger';

export type Db = Pool;

/** `process` names the pool's backends in pg_stat_activity: `poet-<process>:<schema>`. */
export function createPool(opts: { url: string; schema: string; max: number; process?: string }): Pool {
  const pool = new Pool({
    connectionString: opts.url,
    max: opts.max,
    // Every connection of this pool sees only its schema: tests isolate each file this way.
    options: `-c search_path=${opts.schema}`,
    // Operators (and the fault tests that terminate them) tell the pools apart in pg_stat_activity.
    application_name: `poet-${opts.process ?? 'client'}:${opts.schema}`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A backend terminated between two queries of a checked-out client (pg-pool listens only while a client is idle
  // or inside pool.query) would emit an unhandled 'error' and end the process; the next query reports it instead.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Applies pending migrations under an advisory lock, so processes starting together do not race. node-pg-migrate's
 * own lock fails at once when taken ("Another migration is already running"), which crashed all but one of several
 * workers started together; this session lock makes the others wait, then find nothing left to apply.
 */
export async function migrate(opts: { url: string; schema: string; dir: string; logger: Logger }): Promise<void> {
  const lock = new Client({ connectionString: opts.url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`poet-migrate:${opts.schema}`]);
    await applyMigrations(opts);
  } finally {
    // Ending the session releases the lock.
    await lock.end();
  }
}

const MIGRATION_LOCK_WAIT_MS = 60_000;

/**
 * node-pg-migrate's own lock is one per database, not per schema, and tried once: a run migrating another schema
 * (tests give every file its own) holds it briefly, so a taken lock is waited out rather than failing the start.
 */
async function applyMigrations(opts: { url: string; schema: string; dir: string; logger: Logger }): Promise<void> {
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  for (;;) {
    try {
      const applied = await runner({
        databaseUrl: opts.url,
        dir: path.resolve(opts.dir),
        direction: 'up',
        migrationsTable: 'pgmigrations',
        schema: opts.schema,
        createSchema: true,
        checkOrder: true,
        log: (msg: string) => opts.logger.debug(msg),
        noLock: false,
      });
      if (applied.length > 0)
        opts.logger.info('migrations applied', { migrations: applied.map((m) => m.name), schema: opts.schema });
      return;
    } catch (err) {
      if (!/Another migration is already running/.test((err as Error).message) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection lost while the transaction awaits other work (artifact writes, Redis) emits 'error' on the client:
  // without a listener that would crash the process. The failure surfaces on the next query; the client is discarded.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** SQLSTATE classes (the code's first two characters) by their PostgreSQL names. */
const SQLSTATE_CLASSES: Record<string, string> = {
  '08': 'connection_exception',
  '22': 'data_exception',
  '23': 'integrity_constraint_violation',
  '25': 'invalid_transaction_state',
  '40': 'transaction_rollback',
  '42': 'syntax_error_or_access_rule_violation',
  '53': 'insufficient_resources',
  '54': 'program_limit_exceeded',
  '55': 'object_not_in_prerequisite_state',
  '57': 'operator_intervention',
  '58': 'system_error',
  XX: 'internal_error',
};

/** What node-postgres raises when it has no server to talk to: no SQLSTATE, only these. */
const CONNECTION_FAULTS: [RegExp, string][] = [
  [/timeout exceeded when trying to connect|connection timeout/i, 'connection_timeout'],
  [/Connection terminated|connection error and is not queryable|Client was closed/i, 'connection_lost'],
];
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The fault class of an error PostgreSQL or its client raised (`connection_exception`, `connection_lost`,
 * `econnrefused`, ...), or undefined when the error did not come from the database.
 */
export function databaseFault(err: unknown): string | undefined {
  if (err instanceof DatabaseError)
    return SQLSTATE_CLASSES[err.code?.slice(0, 2) ?? ''] ?? `sqlstate_${err.code ?? 'unknown'}`;
  // Socket errors may come from another realm (jest's sandbox), so their shape is checked, not their class.
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return code.toLowerCase();
  return typeof message === 'string' ? CONNECTION_FAULTS.find(([pattern]) => pattern.test(message))?.[1] : undefined;
}
