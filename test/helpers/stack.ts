import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Pool } from 'pg';
import { startApi, type RunningApi } from '../../src/api/server';
import { loadConfig, type Config } from '../../src/config';
import { createPool } from '../../src/infra/db';
import { createLogger } from '../../src/infra/logger';
import { startWorker, type RunningWorker } from '../../src/worker/worker';

export interface TestStack {
  config: Config;
  url: string;
  client: Client;
  /** A pool on this stack's own schema. */
  pool: Pool;
  worker: RunningWorker;
  api: RunningApi;
  close(): Promise<void>;
}

// The SDK logs worker state changes, expected run failures and (natively) gRPC retries while a fault test has
// Temporal down at INFO/WARN: noise in test output.
Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * The real API and worker, built by the same composition roots as production, on their own task queue,
 * PostgreSQL schema, Redis prefix and data dir: test files share only the servers.
 */
export async function startStack(name: string, env: Record<string, string> = {}): Promise<TestStack> {
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
    ...env,
  });
  const logger = createLogger({ level: 'error', service: `test-${name}`, silent: true });
  const worker = await startWorker(config, logger);
  const api = await startApi(config, logger);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const pool = createPool({ url: config.DATABASE_URL!, schema: config.DATABASE_SCHEMA, max: 2 });
  return {
    config,
    url: api.url,
    client,
    pool,
    worker,
    api,
    async close() {
      await api.close();
      await worker.shutdown();
      await connection.close();
      await pool.query(`DROP SCHEMA IF EXISTS ${config.DATABASE_SCHEMA} CASCADE`);
      await pool.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export async function getJson(url: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
