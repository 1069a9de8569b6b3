import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startApi, type RunningApi } from '../../src/api/server';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/infra/db/pool';
import { createLogger } from '../../src/infra/observability/logger';
import { freePort, waitFor } from '../helpers/net';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const root = path.join(__dirname, '..', '..');

const enhanceBody = (name: string, dependencies?: string[]) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    return x * 2\n`,
  ...(dependencies ? { context: { dependencies } } : {}),
});

describe('a worker whose sandbox is isolated', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('sandbox_worker');
  }, 90_000);
  afterAll(() => stack?.close());

  it('says so on readiness and as a metric', async () => {
    const ready = await getJson(`${stack.worker.http.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.sandbox).toMatchObject({ status: 'ok', details: { sandbox: 'isolated' } });
    const metrics = await fetch(`${stack.worker.http.url}/metrics`).then((res) => res.text());
    expect(metrics).toMatch(/^poet_sandbox_isolated 1$/m);
  });

  it('refuses a function whose declared dependency the sandbox cannot import, naming it (422)', async () => {
    const answer = await postJson(
      `${stack.url}/api/v1/functions/enhance`,
      enhanceBody(`needs_pkg_${uniqueSuffix()}`, ['no-such-package-poet']),
    );
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatchObject({
      code: 'dependency_unavailable',
      message: expect.stringContaining("'no-such-package-poet'"),
    });
  });

  it('enhances a function that imports an installed package it declares', async () => {
    const name = `uses_yaml_${uniqueSuffix()}`;
    const answer = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: `import yaml\n\n\ndef ${name}(text: str):\n    return yaml.safe_load(text)\n`,
      context: { dependencies: ['PyYAML'], samples: [['a: 1']] },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ function_name: name, version: 1 });
  });
});

describe('a worker with SANDBOX_ISOLATION=none', () => {
  let stack: TestStack;
  const logs = new PassThrough();
  let logged = '';
  logs.on('data', (chunk: Buffer) => (logged += chunk.toString()));

  beforeAll(async () => {
    stack = await startStack(
      'sandbox_none',
      { SANDBOX_ISOLATION: 'none' },
      { logger: createLogger({ level: 'warn', service: 'test-sandbox-none', stream: logs }) },
    );
  }, 90_000);
  afterAll(() => stack?.close());

  it('warns loudly at start, stays ready with the check disabled, and validates', async () => {
    expect(logged).toContain('VALIDATION SANDBOX ISOLATION IS OFF');
    const ready = await getJson(`${stack.worker.http.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.sandbox).toMatchObject({ status: 'disabled', details: { sandbox: 'disabled' } });
    const metrics = await fetch(`${stack.worker.http.url}/metrics`).then((res) => res.text());
    expect(metrics).toMatch(/^poet_sandbox_isolated -1$/m);
    const answer = await postJson(`${stack.url}/api/v1/functions/enhance`, enhanceBody(`trusted_${uniqueSuffix()}`));
    expect(answer.status).toBe(200);
  });
});

describe('a worker whose kernel refuses the isolation', () => {
  const id = `sandbox_refused_${uniqueSuffix()}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-sandbox-refused-'));
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_SCHEMA: `t_${id}`,
    REDIS_PREFIX: `test:${id}:`,
    TEMPORAL_TASK_QUEUE: `poet-test-${id}`,
    DATA_DIR: dataDir,
    DATABASE_POOL_MAX: '3',
    AUTH_MODE: 'disabled',
  };
  let worker: ChildProcess;
  let output = '';
  let workerUrl: string;
  let api: RunningApi;

  beforeAll(async () => {
    const port = await freePort();
    workerUrl = `http://127.0.0.1:${port}`;
    // The worker in a user namespace that may create no further one: what a locked-down host or a pod under the
    // runtime's default seccomp profile gives.
    const script = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$1"';
    worker = spawn(
      'unshare',
      ['--user', '--map-root-user', 'sh', '-c', script, process.execPath, path.join(root, 'dist', 'worker', 'main.js')],
      {
        cwd: root,
        env: { ...process.env, ...env, WORKER_HTTP_HOST: '127.0.0.1', WORKER_HTTP_PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(
      async () => {
        if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode}):\n${output}`);
        return output.includes('"worker started"');
      },
      60_000,
      'the worker started',
    );
    api = await startApi(
      loadConfig({ ...process.env, ...env, HOST: '127.0.0.1', PORT: '0' }),
      createLogger({ level: 'error', service: 'test-refused', silent: true }),
    );
  }, 90_000);

  afterAll(async () => {
    worker?.kill('SIGKILL');
    await api?.close();
    const pool = createPool({ url: process.env.DATABASE_URL!, schema: env.DATABASE_SCHEMA, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA} CASCADE`);
    await pool.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reports the sandbox failing on readiness, with the reason, and logs it', async () => {
    const ready = await getJson(`${workerUrl}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.sandbox).toMatchObject({
      status: 'failing',
      error: expect.stringContaining('unshare the namespaces'),
    });
    expect(output).toContain('validation sandbox unavailable: every validation is refused');
  });

  it('refuses every validation: the enhancement fails with sandbox_unavailable (503), nothing ran', async () => {
    const answer = await postJson(`${api.url}/api/v1/functions/enhance`, enhanceBody(`refused_${uniqueSuffix()}`));
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('not isolated'),
    });
  });
});
