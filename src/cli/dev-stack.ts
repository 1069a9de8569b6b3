import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { Config } from '../config';
import { newKeyEntry } from '../infra/crypto/key-ring';
import { migrate } from '../infra/db/pool';
import { startEmbeddedPostgres } from './embedded-postgres';
import type { Logger } from '../infra/observability/logger';
import { temporalConnectionOptions } from '../infra/temporal/connection';
import { deploymentVersion, setCurrentVersion } from '../infra/temporal/worker-deployments';
import { spawnService } from './processes';
import { ensureTemporalCli, startDevServer, stopProcess } from './temporal-dev';
import { waitUntil } from './wait';
import { SEARCH_ATTRIBUTE_NAMES } from '../definitions/search-attributes';

type Env = Record<string, string | undefined>;

/** The worker deployment of `npm start` when TEMPORAL_DEPLOYMENT_NAME is unset: the stack runs versioned, as production should. */
const DEV_DEPLOYMENT_NAME = 'poet';

/** The worker's build becomes current once it polls, so new runs reach it (runs pinned to an earlier build wait for it). */
async function makeCurrent(
  config: Config,
  address: string,
  version: WorkerDeploymentVersion,
  logger: Logger,
): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions({ ...config, TEMPORAL_ADDRESS: address }));
  try {
    await setCurrentVersion(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), version, 60_000);
    logger.info('worker deployment version is current', {
      deployment: version.deploymentName,
      build_id: version.buildId,
    });
  } finally {
    await connection.close();
  }
}

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

function stopChild(name: string, child: ChildProcess): Stoppable {
  return { name, stop: () => stopProcess(child) };
}

async function startTemporal(config: Config, env: Env, logger: Logger): Promise<{ address: string; stop: Stoppable }> {
  const cli = ensureTemporalCli(config.rootDir, env);
  logger.info('starting temporal dev server', { cli, port: config.TEMPORAL_DEV_PORT });
  const server = await startDevServer({
    cli,
    port: config.TEMPORAL_DEV_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    namespace: config.TEMPORAL_NAMESPACE,
    dbFile: path.join(config.dataDir, 'temporal.sqlite'),
    searchAttributes: SEARCH_ATTRIBUTE_NAMES,
    env,
    uiCodecEndpoint: `http://127.0.0.1:${config.PORT}/api/v1/codec`,
  });
  return { address: server.address, stop: { name: 'temporal', stop: () => server.stop() } };
}

/**
 * The former embedded default kept its database in DATA_DIR/pglite; the real server cannot read that format, so the
 * user learns why their functions and keys are gone and what to do, rather than finding an empty service.
 */
function warnOfPgliteData(config: Config, logger: Logger): void {
  const old = path.join(config.dataDir, 'pglite');
  if (!existsSync(old)) return;
  logger.warn(
    `${old} holds the database of the former embedded default (PGlite), which this version does not read: ` +
      `the embedded PostgreSQL keeps its own in ${path.join(config.dataDir, 'postgres')}. Artifacts under ` +
      `${path.join(config.dataDir, 'functions')} are kept; versions, feedback and API keys start empty. ` +
      `To carry them over, stop this stack and run \`poet migrate-pglite\` once (it keeps ${old} as pglite.migrated).`,
  );
}

async function startPostgres(config: Config, env: Env, logger: Logger): Promise<{ url: string; stop: Stoppable }> {
  warnOfPgliteData(config, logger);
  const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.EMBEDDED_PG_PORT, env, logger });
  return { url: pg.url, stop: { name: 'embedded postgres', stop: pg.stop } };
}

/**
 * The V8 flags of a heap limit of `mb` MiB of old space. The young generation is pinned at Node 20's 16 MiB per
 * semi-space: Node 24 sizes it up to 64 MiB at these limits, which adds 144 MiB of heap a process may commit, twice in
 * the worker (its main thread and its workflow thread), for collections that were not the bottleneck.
 * The deploy/ manifests set the same flags (test/deploy checks them against this).
 */
export function heapOptions(mb: number): string {
  return `--max-old-space-size=${mb} --max-semi-space-size=16`;
}

/**
 * glibc's malloc arenas in the worker. Uncapped, glibc gives threads that allocate at once arenas of their own, up to
 * eight per core, and the Temporal core's threads leave freed memory scattered over them: the worker's RSS kept rising
 * under load while its V8 heaps did not. The deploy/ manifests set the same (test/deploy checks them against this).
 */
export const WORKER_MALLOC_ARENA_MAX = '2';

/**
 * A service's memory settings: the heap limit goes before the user's NODE_OPTIONS (V8 takes the last
 * `--max-old-space-size`, so theirs wins; 0 leaves V8's default), and the worker's malloc arenas unless the user set them.
 */
function withMemoryLimits(env: Env, name: 'worker' | 'api', mb: number): Env {
  const out: Env =
    mb === 0 ? { ...env } : { ...env, NODE_OPTIONS: [heapOptions(mb), env.NODE_OPTIONS].filter(Boolean).join(' ') };
  if (name === 'worker' && out.MALLOC_ARENA_MAX === undefined) out.MALLOC_ARENA_MAX = WORKER_MALLOC_ARENA_MAX;
  return out;
}

/** The n-th worker's HTTP port (from 0): WORKER_HTTP_PORT + n, or a free one each when it is 0. */
function workerPortEnv(config: Config, n: number): Env {
  if (n === 0) return {};
  return { WORKER_HTTP_PORT: String(config.WORKER_HTTP_PORT === 0 ? 0 : config.WORKER_HTTP_PORT + n) };
}

/**
 * The laptop stack's key ring when none is configured: written once under DATA_DIR (owner-only) and kept, since
 * payloads and rows written under it can only be read with it. Losing this file loses that data.
 */
function localKeyRingFile(config: Config, logger: Logger): string {
  const file = path.join(config.dataDir, 'encryption-keys');
  if (!existsSync(file)) {
    mkdirSync(config.dataDir, { recursive: true });
    const id = `local-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`;
    writeFileSync(file, `${newKeyEntry(id)}\n`, { mode: 0o600, flag: 'wx' });
    logger.info('encryption key ring created', { file, key: id });
  }
  return file;
}

/**
 * `poet start` / `npm start`: the whole service on one machine. What is not configured is provided:
 * a Temporal dev server, an embedded PostgreSQL; then migrations, the worker and the API as child processes.
 */
export async function runDevStack(config: Config, env: Env, logger: Logger): Promise<void> {
  const stops: Stoppable[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping the stack');
    for (const s of stops.reverse()) {
      await s
        .stop()
        .catch((err: unknown) => logger.warn(`stopping ${s.name} failed`, { error: (err as Error).message }));
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const childEnv: Env = { ...env, DATA_DIR: config.dataDir };
    // The laptop stack answers without keys unless AUTH_MODE says otherwise (the API logs a loud warning).
    if (!env.AUTH_MODE && config.NODE_ENV !== 'production') childEnv.AUTH_MODE = 'disabled';
    // Customers' code is encrypted in Temporal and the payload store on the laptop stack too.
    if (!config.encryption) childEnv.ENCRYPTION_KEYS_FILE = localKeyRingFile(config, logger);
    if (!config.TEMPORAL_ADDRESS) {
      const temporal = await startTemporal(config, env, logger);
      stops.push(temporal.stop);
      childEnv.TEMPORAL_ADDRESS = temporal.address;
      childEnv.TEMPORAL_UI_URL = `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`;
      // The UI's browser calls the API's codec endpoint cross-origin.
      if (!env.CORS_ALLOWED_ORIGINS)
        childEnv.CORS_ALLOWED_ORIGINS = `${childEnv.TEMPORAL_UI_URL},http://localhost:${config.TEMPORAL_UI_PORT}`;
    }
    if (!config.DATABASE_URL) {
      const pg = await startPostgres(config, env, logger);
      stops.push(pg.stop);
      childEnv.DATABASE_URL = pg.url;
    }
    await migrate({ url: childEnv.DATABASE_URL!, schema: config.DATABASE_SCHEMA, dir: config.migrationsDir, logger });
    const deploymentName = childEnv.TEMPORAL_DEPLOYMENT_NAME || DEV_DEPLOYMENT_NAME;
    childEnv.TEMPORAL_DEPLOYMENT_NAME = deploymentName;
    // The version the worker will serve: the same config, the same bundle, the same build id.
    const version = deploymentVersion({ ...config, TEMPORAL_DEPLOYMENT_NAME: deploymentName })!;

    const distDir = path.join(config.rootDir, 'dist');
    const heapMb = { worker: config.WORKER_MAX_HEAP_MB, api: config.API_MAX_HEAP_MB };
    const processes = [
      ...Array.from({ length: config.WORKER_PROCESSES }, (_, n) => ({
        name: 'worker' as const,
        label: config.WORKER_PROCESSES > 1 ? `worker ${n}` : 'worker',
        env: workerPortEnv(config, n),
      })),
      { name: 'api' as const, label: 'api', env: {} },
    ];
    for (const { name, label, env: own } of processes) {
      const child = spawnService(
        distDir,
        name,
        withMemoryLimits({ ...childEnv, ...own }, name, heapMb[name]),
        'inherit',
      );
      child.once('exit', (code, signal) => {
        if (stopping) return;
        logger.error(`${label} exited unexpectedly`, { code, signal });
        void stopAll(1);
      });
      stops.push(stopChild(label, child));
    }

    const api = `http://127.0.0.1:${config.PORT}`;
    const apiReady = () =>
      fetch(`${api}/health/ready`).then(
        (res) => res.ok,
        () => false,
      );
    await waitUntil(apiReady, 60_000, `${api}/health/ready answering 200`, 300);
    await makeCurrent(config, childEnv.TEMPORAL_ADDRESS!, version, logger);
    const lines = [
      '',
      'POET service is up.',
      `  API          ${api}   (POST /api/v1/functions/enhance, GET /api/v1/runs/{id})`,
      `  health       ${api}/health/ready`,
      ...(childEnv.TEMPORAL_UI_URL ? [`  Temporal UI  ${childEnv.TEMPORAL_UI_URL}`] : []),
      `  worker       deployment ${version.deploymentName}, build ${version.buildId} (current)${config.WORKER_PROCESSES > 1 ? `, ${config.WORKER_PROCESSES} processes` : ''}`,
      `  artifacts    ${config.dataDir}/functions`,
      `  encryption   ${config.encryption ? `key ${config.encryption.activeKeyId} (ENCRYPTION_KEYS)` : `key ring ${childEnv.ENCRYPTION_KEYS_FILE}`}`,
      childEnv.AUTH_MODE === 'disabled'
        ? '  auth         DISABLED: every caller is admin (AUTH_MODE=api_keys and `poet keys create` to require keys)'
        : '  auth         API keys (`poet keys create --role admin` makes the first one)',
      'Ctrl-C stops everything.',
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (err) {
    logger.error('the stack failed to start', { error: (err as Error).message });
    await stopAll(1);
  }
}
