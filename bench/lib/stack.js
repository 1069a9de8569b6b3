'use strict';
// The service as production runs it: a Temporal dev server, worker process(es) and an API process, on their own
// PostgreSQL schema, Redis prefix, task queue and data dir, so a benchmark measures what users get.
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const readline = require('node:readline');

const root = path.join(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const { ensureTemporalCli, startDevServer, stopProcess } = require(path.join(dist, 'cli', 'temporal-dev'));
const { SEARCH_ATTRIBUTE_NAMES } = require(path.join(dist, 'definitions', 'search-attributes'));
const { waitUntil } = require(path.join(dist, 'cli', 'wait'));
const { freePort, spawnService: spawnBuilt } = require(path.join(dist, 'cli', 'processes'));
const { createApiKey } = require('./api');
const { cpuSeconds } = require('./cpu');

/** Resident memory of a process in MiB, from /proc. */
function rssMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** A built service, quiet but for its last stderr; `onLogLine`, when given, reads its log (stdout) line by line. */
function spawnService(name, env, onLogLine) {
  const child = spawnBuilt(dist, name, env, ['ignore', onLogLine ? 'pipe' : 'ignore', 'pipe']);
  if (onLogLine) readline.createInterface({ input: child.stdout }).on('line', onLogLine);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (code && !child.stopping) console.error(`bench: ${name} exited with ${code ?? signal}\n${stderr}`);
  });
  return child;
}

/** A Temporal dev server as `poet start` runs it (its state in `dataDir`), on free ports, quiet. */
async function startBenchDevServer(dataDir, searchAttributes) {
  return startDevServer({
    cli: ensureTemporalCli(root, process.env),
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    searchAttributes,
    env: process.env,
    stdio: 'ignore',
  });
}

/**
 * API and worker processes on a Temporal: a dev server of their own, or `temporal` ({ env, serverPids, services }: a
 * running cluster's settings and server processes, bench/lib/topology.js). `apiLog`, when given, gets each line the API
 * logs at level `http` (one access line per request, with its duration), the workers staying at `error`.
 */
async function startBenchStack({ env: extra = {}, workers = 1, temporal, apiLog } = {}) {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-bench-'));
  const stops = [];
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'error',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_SCHEMA: `bench_${id}`,
    REDIS_PREFIX: `bench:${id}:`,
    TEMPORAL_TASK_QUEUE: `poet-bench-${id}`,
    DATA_DIR: dataDir,
    WORKFLOW_BUNDLE_PATH: path.join(dist, 'workflow-bundle.js'),
    // Benchmarks exceed the per-key and per-IP budgets on purpose; authentication stays on (production mode).
    RATE_LIMIT_ENHANCE_PER_MINUTE: '0',
    RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '0',
    RATE_LIMIT_KEY_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    ...temporal?.env,
    ...extra,
  };
  let serverPids = temporal?.serverPids ?? [];
  if (!temporal) {
    const server = await startBenchDevServer(dataDir, SEARCH_ATTRIBUTE_NAMES);
    env.TEMPORAL_ADDRESS = server.address;
    serverPids = [server.child.pid];
    stops.push(() => server.stop());
  }
  const workerProcs = [];
  const workerUrls = [];
  for (let i = 0; i < workers; i++) {
    const workerPort = await freePort();
    workerUrls.push(`http://127.0.0.1:${workerPort}`);
    workerProcs.push(
      spawnService('worker', { ...env, WORKER_HTTP_HOST: '127.0.0.1', WORKER_HTTP_PORT: String(workerPort) }),
    );
  }
  const port = await freePort();
  const api = spawnService(
    'api',
    { ...env, HOST: '127.0.0.1', PORT: String(port), ...(apiLog ? { LOG_LEVEL: 'http' } : {}) },
    apiLog,
  );
  const url = `http://127.0.0.1:${port}`;
  const children = [api, ...workerProcs];
  stops.unshift(async () => {
    for (const child of children) child.stopping = true;
    await Promise.all(children.map((child) => stopProcess(child)));
  });
  const close = async () => {
    for (const stop of stops) await stop();
    const { Client } = require('pg');
    const pg = new Client({ connectionString: env.DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA} CASCADE`);
    await pg.end();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const ready = async (base) => {
    try {
      return (await fetch(`${base}/health/ready`)).status === 200;
    } catch {
      return false;
    }
  };
  try {
    await waitUntil(() => ready(url), 60_000, 'API ready', 200);
    // A worker is ready once it has migrated the schema and polls: the key below needs its tables.
    for (const workerUrl of workerUrls) await waitUntil(() => ready(workerUrl), 60_000, 'worker ready', 200);
  } catch (err) {
    await close();
    throw err;
  }
  // An agent key of the default tenant, as a client would hold.
  const { createPool } = require(path.join(dist, 'infra', 'db', 'pool'));
  const keyPool = createPool({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, max: 1 });
  const key = await createApiKey(keyPool, 'agent', 'bench');
  await keyPool.end();
  return {
    url,
    env,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    workerUrls,
    memory: () => ({ api: rssMiB(api.pid), workers: workerProcs.map((w) => rssMiB(w.pid)) }),
    /**
     * CPU seconds so far of the API, each worker and the Temporal server's processes, and, on a cluster whose
     * services run apart, of each service (`services`, by name).
     */
    cpu: () => ({
      api: cpuSeconds(api.pid),
      workers: workerProcs.map((w) => cpuSeconds(w.pid)),
      server: serverPids
        .map(cpuSeconds)
        .reduce((a, b) => ({ self: a.self + b.self, children: a.children + b.children }), {
          self: 0,
          children: 0,
        }),
      ...(temporal?.services && {
        services: Object.fromEntries(
          Object.entries(temporal.services).map(([service, pid]) => [service, cpuSeconds(pid)]),
        ),
      }),
    }),
    /**
     * CPU seconds so far, by pid, of the PostgreSQL backends serving this stack's pools (`service`: named after its
     * schema in pg_stat_activity) and, on a cluster, those of Temporal's databases (`temporal`): PostgreSQL runs on
     * this machine. A backend that ended meanwhile is not counted.
     */
    databaseCpu: async () => {
      const { Client } = require('pg');
      const pg = new Client({ connectionString: env.DATABASE_URL });
      await pg.connect();
      const byPid = (rows) =>
        new Map(
          rows.flatMap(({ pid }) => {
            try {
              const cpu = cpuSeconds(pid);
              return [[pid, cpu.self + cpu.children]];
            } catch {
              return []; // ended meanwhile
            }
          }),
        );
      try {
        const service = await pg.query('SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1', [
          `%:${env.DATABASE_SCHEMA}`,
        ]);
        const temporalDb = await pg.query('SELECT pid FROM pg_stat_activity WHERE datname = ANY($1)', [
          temporal?.databases ?? [],
        ]);
        return { service: byPid(service.rows), temporal: byPid(temporalDb.rows) };
      } finally {
        await pg.end();
      }
    },
    close,
  };
}

module.exports = { startBenchStack, startBenchDevServer, freePort };
