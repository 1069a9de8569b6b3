import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Pool } from 'pg';
import { startApi, type RunningApi } from '../../src/api/server';
import { loadConfig, type Config } from '../../src/config';
import type { Role } from '../../src/contracts/security';
import { ApiKeysRepo } from '../../src/infra/db/api-keys-repo';
import { createClaimCheck } from '../../src/infra/temporal/claim-check';
import { createPool } from '../../src/infra/db/pool';
import { createLogger, type Logger } from '../../src/infra/observability/logger';
import { runtimeTelemetry } from '../../src/worker/runtime';
import { startWorker, type RunningWorker } from '../../src/worker/worker';

export interface TestStack {
  config: Config;
  url: string;
  client: Client;
  /** A pool on this stack's own schema. */
  pool: Pool;
  worker: RunningWorker;
  api: RunningApi;
  /** An admin key of the `default` tenant; getJson/postJson send it unless told otherwise. */
  apiKey: string;
  /** Another key on this stack, e.g. of another tenant or a lesser role. */
  createKey(tenantId: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

// Per test file (jest gives each file its own module registry): the key the request helpers send by default.
let defaultApiKey: string | undefined;

let runtimeInstalled = false;
/**
 * Once per test file, with the first stack's telemetry settings (TEMPORAL_METRICS_BIND_ADDRESS).
 * The SDK logs worker state changes, expected run failures and (natively) gRPC retries while a fault test has
 * Temporal down at INFO/WARN: noise in test output.
 */
function installRuntime(config: Config): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: {
      logging: { filter: { core: 'ERROR', other: 'ERROR' } },
      ...runtimeTelemetry(config).telemetryOptions,
    },
  });
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * The real API and worker, built by the same composition roots as production, on their own task queue,
 * PostgreSQL schema, Redis prefix and data dir: test files share only the servers.
 */
export async function startStack(
  name: string,
  env: Record<string, string> = {},
  opts: { logger?: Logger } = {},
): Promise<TestStack> {
  const id = `${name}_${uniqueSuffix()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `poet-${name}-`));
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_SCHEMA: `t_${id}`,
    REDIS_PREFIX: `test:${id}:`,
    TEMPORAL_TASK_QUEUE: `poet-test-${id}`,
    DATA_DIR: dataDir,
    DATABASE_POOL_MAX: '4',
    // Test files send many requests from one key and one address; test/security/rate-limit.test.ts sets real limits.
    RATE_LIMIT_ENHANCE_PER_MINUTE: '100000',
    RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '100000',
    RATE_LIMIT_KEY_PER_MINUTE: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '100000',
    WORKER_HTTP_HOST: '127.0.0.1',
    WORKER_HTTP_PORT: '0',
    ...env,
  });
  installRuntime(config);
  const logger = opts.logger ?? createLogger({ level: 'error', service: `test-${name}`, silent: true });
  const worker = await startWorker(config, logger);
  const api = await startApi(config, logger);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS! });
  // Decodes the payloads the worker and API stored by reference, as they do.
  const claimCheck = createClaimCheck(config, 'test');
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: claimCheck.dataConverter,
  });
  const pool = createPool({ url: config.DATABASE_URL!, schema: config.DATABASE_SCHEMA, max: 2 });
  const keys = new ApiKeysRepo(pool);
  const createKey = async (tenantId: string, role: Role) =>
    (await keys.create({ tenantId, role, name: `test ${role}`, createdBy: 'test' })).key;
  // The worker has applied the migrations by now.
  const apiKey = await createKey('default', 'admin');
  defaultApiKey = apiKey;
  return {
    config,
    url: api.url,
    client,
    pool,
    worker,
    api,
    apiKey,
    createKey,
    async close() {
      await api.close();
      await worker.shutdown();
      // The worker applied this stack's re-evaluation schedule; it must not outlive the stack's task queue.
      await client.schedule
        .getHandle(config.reevaluationScheduleId)
        .delete()
        .catch(() => undefined);
      await connection.close();
      await claimCheck.close();
      await pool.query(`DROP SCHEMA IF EXISTS ${config.DATABASE_SCHEMA} CASCADE`);
      await pool.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * One request with the stack's admin key unless `headers` carries its own credentials;
 * `{ authorization: '' }` sends none.
 */
export async function requestJson(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonAnswer> {
  const own = Object.keys(headers).some((h) => ['authorization', 'x-api-key'].includes(h.toLowerCase()));
  const auth: Record<string, string> = !own && defaultApiKey ? { authorization: `Bearer ${defaultApiKey}` } : {};
  const merged = Object.fromEntries(Object.entries({ ...auth, ...headers }).filter(([, value]) => value !== ''));
  const res = await fetch(url, {
    method,
    headers: body === undefined ? merged : { 'content-type': 'application/json', ...merged },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  return requestJson('POST', url, body, headers);
}

export function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  return requestJson('GET', url, undefined, headers);
}

/** Versions stored per function of `names`: one row per function that has any (a duplicate shows as n > 1). */
export async function versionCounts(pool: Pool, names: string[]): Promise<{ function_name: string; n: number }[]> {
  const { rows } = await pool.query(
    'SELECT function_name, count(*)::int AS n FROM versions WHERE function_name = ANY($1) GROUP BY 1',
    [names],
  );
  return rows;
}

/** Polls `probe` until it yields a value; bounded, so a wait that never ends fails with what it waited for. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
