import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { heapOptions, WORKER_MALLOC_ARENA_MAX } from '../../src/cli/dev-stack';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Client } from 'pg';
import { freePort, isListening, waitFor } from '../helpers/net';
import { childrenOf } from '../helpers/processes';
import { postJson, requestJson } from '../helpers/stack';

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');

// `npm start` on embedded defaults: no TEMPORAL_ADDRESS, DATABASE_URL or REDIS_URL, so the stack
// brings its own Temporal dev server and a real PostgreSQL server. Runs the built CLI (scripts/test.sh builds first).
describe('poet start (npm start)', () => {
  let child: ChildProcess;
  let output = '';
  let dataDir: string;
  const ports: Record<string, number> = {};
  const env = () => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH ?? '',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    WORKER_MAX_HEAP_MB: '300',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  });

  beforeAll(async () => {
    expect(existsSync(cli)).toBe(true);
    for (const name of ['PORT', 'TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT', 'EMBEDDED_PG_PORT', 'WORKER_HTTP_PORT'])
      ports[name] = await freePort();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-start-'));
    // What the former embedded default (PGlite) left in a data dir.
    mkdirSync(path.join(dataDir, 'pglite'));
    child = spawn(process.execPath, [cli, 'start'], { cwd: root, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(async () => output.includes('POET service is up') || child.exitCode !== null, 90_000, 'stack up');
    if (child.exitCode !== null) throw new Error(`poet start exited early:\n${output}`);
  }, 100_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints the API and Temporal UI URLs, and the worker deployment version it made current', () => {
    expect(output).toContain(`http://127.0.0.1:${ports.PORT}`);
    expect(output).toContain(`Temporal UI  http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`);
    expect(output).toMatch(/worker {7}deployment poet, build \d+\.\d+\.\d+-[0-9a-f]{12} \(current\)/);
  });

  test('encrypts payloads under a key ring it generated in DATA_DIR, readable by its owner only', async () => {
    const file = path.join(dataDir, 'encryption-keys');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const [id] = readFileSync(file, 'utf8').trim().split(':');
    expect(id).toMatch(/^local-\d{8}$/);
    expect(output).toContain(`encryption   key ring ${file}`);
    const ready = (await (await fetch(`http://127.0.0.1:${ports.PORT}/health/ready`)).json()) as {
      checks: Record<string, { status: string; details?: { active_key?: string } }>;
    };
    expect(ready.checks.encryption).toMatchObject({ status: 'ok', details: { active_key: id } });
  });

  test('the Temporal UI decodes payloads through the API, which lets its origin call cross-origin', async () => {
    const settings = (await (await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/api/v1/settings`)).json()) as {
      Codec?: { Endpoint?: string };
    };
    expect(settings.Codec?.Endpoint).toBe(`http://127.0.0.1:${ports.PORT}/api/v1/codec`);
    const preflight = await fetch(`http://127.0.0.1:${ports.PORT}/api/v1/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: `http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`);
  });

  test('serves the enhance endpoint end to end on the embedded database', async () => {
    const name = 'start_smoke';
    const res = await postJson(`http://127.0.0.1:${ports.PORT}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: `def ${name}(a: int, b: int) -> int:\n    return a - b\n`,
      context: { samples: [[5, 3]] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 1, metadata: { safety_level: 'high', cache: 'miss' } });
    // Worker Versioning end to end: the run went to the current build and is pinned to it.
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.TEMPORAL_DEV_PORT}` });
    try {
      // Raw: this client has no key ring, and the run's memo is encrypted.
      const described = await connection.workflowService.describeWorkflowExecution({
        namespace: 'default',
        execution: { workflowId: res.body.run.workflow_id },
      });
      const buildId = /deployment poet, build (\S+) \(current\)/.exec(output)?.[1];
      expect(described.workflowExecutionInfo?.versioningInfo?.deploymentVersion).toMatchObject({
        deploymentName: 'poet',
        buildId,
      });
    } finally {
      await connection.close();
    }
    expect(readlinkSync(path.join(dataDir, 'functions', name, 'current'))).toBe('v1');
    // Temporal's state is in the data dir, written ahead (WAL): the dev server's CPU per run roughly halves.
    expect(existsSync(path.join(dataDir, 'temporal.sqlite'))).toBe(true);
    expect(existsSync(path.join(dataDir, 'temporal.sqlite-wal'))).toBe(true);
  });

  test("DELETE /api/v1/cache without Redis empties the worker's in-process cache (PostgreSQL tells it)", async () => {
    const name = 'start_cache';
    const api = `http://127.0.0.1:${ports.PORT}/api/v1`;
    const enhance = async (constant: number) =>
      (
        await postJson(`${api}/functions/enhance`, {
          function_name: name,
          original_code: `def ${name}(a: int) -> int:\n    return a + ${constant}\n`,
        })
      ).body.metadata.cache;
    // v1 (+1), v2 (+2); +1 again is the worker's in-process hit, and v3 is active.
    expect([await enhance(1), await enhance(2), await enhance(1)]).toEqual(['miss', 'miss', 'hit']);
    const heard = async () => {
      const text = await (await fetch(`http://127.0.0.1:${ports.WORKER_HTTP_PORT}/metrics`)).text();
      return Number(/^poet_cache_invalidations_total (\d+)/m.exec(text)?.[1]);
    };
    expect(await heard()).toBe(0);
    const dropped = await requestJson('DELETE', `${api}/cache?function_name=${name}`);
    expect(dropped.status).toBe(200);
    expect(dropped.body).toEqual({ function_name: name, shared_entries: 0, workers_notified: 1 });
    await waitFor(async () => (await heard()) === 1, 10_000, 'the worker heard the invalidation');
    // +2 is no longer the active version's input: only the worker's cache could answer it, and it has dropped it.
    expect(await enhance(2)).toBe('miss');
  });

  test("the worker and the API run under the V8 heap limits of the configuration (the worker's set, the API's default)", async () => {
    const heapLimitMb = async (port: number | undefined) => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json()) as {
        checks: { memory: { details: { heap_limit_mb: number } } };
      };
      return body.checks.memory.details.heap_limit_mb;
    };
    // V8's limit is the old space asked for plus a young generation whose size depends on the Node version and the
    // machine: the same flag given to this Node gives the limit to expect.
    const limitFor = (oldSpaceMb: number) =>
      Number(
        execFileSync(process.execPath, [
          ...heapOptions(oldSpaceMb).split(' '),
          '-p',
          "Math.round(require('node:v8').getHeapStatistics().heap_size_limit / 2 ** 20)",
        ]),
      );
    expect(await heapLimitMb(ports.WORKER_HTTP_PORT)).toBe(limitFor(300));
    expect(await heapLimitMb(ports.PORT)).toBe(limitFor(256));
  });

  test("the worker runs with glibc's malloc arenas capped, the API with glibc's default", () => {
    const environOf = (service: 'api' | 'worker') => {
      const pid = childrenOf(child.pid!).find((kid) =>
        readFileSync(`/proc/${kid}/cmdline`, 'utf8').includes(`${service}/main.js`),
      );
      expect(pid).toBeDefined();
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    };
    expect(environOf('worker')).toContain(`MALLOC_ARENA_MAX=${WORKER_MALLOC_ARENA_MAX}`);
    expect(environOf('api').some((v) => v.startsWith('MALLOC_ARENA_MAX='))).toBe(false);
  });

  test('the database is a PostgreSQL server with its cluster in DATA_DIR; a PGlite data dir left behind is explained', () => {
    expect(existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(output).toContain('holds the database of the former embedded default (PGlite)');
    expect(output).toContain('run `poet migrate-pglite` once');
  });

  test('`poet keys create` finds the embedded server', async () => {
    const key = execFileSync(process.execPath, [cli, 'keys', 'create', '--role', 'viewer'], {
      env: env(),
      encoding: 'utf8',
    }).trim();
    const db = new Client({ connectionString: `postgres://postgres@127.0.0.1:${ports.EMBEDDED_PG_PORT}/postgres` });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT role FROM api_keys WHERE position(id IN $1) > 0', [key]);
      expect(rows).toEqual([{ role: 'viewer' }]);
    } finally {
      await db.end();
    }
  });

  test('SIGINT stops every child: API, worker, Temporal and PostgreSQL stop listening', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) expect(await isListening(port)).toBe(false);
  }, 60_000);
});
