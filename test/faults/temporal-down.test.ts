import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApi, type RunningApi } from '../../src/api/server';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/infra/observability/logger';
import { freePort } from '../helpers/net';
import { getJson, postJson } from '../helpers/stack';

// An API whose Temporal frontend is gone (nothing listens at its address): clients are told to come back.
describe('Temporal unreachable', () => {
  let api: RunningApi;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-tdown-'));
    const config = loadConfig({
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      // No worker ran migrations on this schema, so no keys table: this file is about Temporal, not auth.
      AUTH_MODE: 'disabled',
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    });
    api = await startApi(config, createLogger({ level: 'error', service: 'test', silent: true }));
  });
  afterAll(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('enhance answers 503 with Retry-After and a machine-readable body', async () => {
    const res = await postJson(`${api.url}/api/v1/functions/enhance`, {
      function_name: 'f',
      original_code: 'def f(x):\n    return x\n',
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.body.error.code).toBe('service_unavailable');
  });

  test('readiness fails on Temporal while PostgreSQL is fine', async () => {
    const res = await getJson(`${api.url}/health/ready`);
    expect(res.status).toBe(503);
    expect(res.body.checks.temporal.status).toBe('failing');
    expect(res.body.checks.postgres.status).toBe('ok');
  });
});
