'use strict';
// Field outcomes and resolution: ingestion throughput of POST /api/v1/outcomes (batches of 500 reports, as the
// runtime sends them, all for one version: every batch adds to the same minute's row) and the latency of
// GET /api/v1/functions/{name}/resolve at 1 and 50 connections, beside the floor of the same API: GET /health/live
// (no authentication, no database) and GET /api/v1/admin/api-keys (authentication, budgets, one indexed query).
// API keys and every budget on (Redis-backed). Run after `npm run build`: node bench/outcomes.js
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const autocannon = require('autocannon');

const dist = path.join(__dirname, '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { createLogger } = require(path.join(dist, 'infra', 'observability', 'logger'));
const { createPool, migrate } = require(path.join(dist, 'infra', 'db', 'pool'));
const { ApiKeysRepo } = require(path.join(dist, 'infra', 'db', 'api-keys-repo'));
const { startApi } = require(path.join(dist, 'api', 'server'));

const BATCH = 500;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const FN = 'bench_fn';

async function main() {
  const id = randomBytes(4).toString('hex');
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    AUTH_MODE: 'api_keys',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_SCHEMA: `bench_outcomes_${id}`,
    REDIS_PREFIX: `bench:outcomes:${id}:`,
    // Nothing here talks to Temporal; the API's connection is lazy.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    RATE_LIMIT_TENANT_REPORTS_PER_MINUTE: '1000000000',
    RATE_LIMIT_KEY_PER_MINUTE: '1000000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000000',
  };
  const logger = createLogger({ level: 'error', service: 'bench', silent: true });
  await migrate({
    url: env.DATABASE_URL,
    schema: env.DATABASE_SCHEMA,
    dir: path.join(__dirname, '..', 'migrations'),
    logger,
  });
  const pool = createPool({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, max: 1 });
  const keys = new ApiKeysRepo(pool);
  const key = async (role) => (await keys.create({ tenantId: 'default', role, name: role, createdBy: 'bench' })).key;
  const viewer = await key('viewer');
  const admin = await key('admin');
  const reporter = await key('reporter');
  await pool.query(`INSERT INTO functions (tenant_id, name, current_version) VALUES ('default', $1, 1)`, [FN]);
  await pool.query(
    `INSERT INTO versions (tenant_id, function_name, version, status, idempotency_key, input_hash, domain, provider,
                           enhancer_version, safety_level, params, metadata, artifact_path)
     VALUES ('default', $1, 1, 'active', 'bench', 'h', 'base_reliability', 'template', 'bench', 'high', '{}', '{}', '-')`,
    [FN],
  );
  const reports = Array.from({ length: BATCH }, (_, i) => ({
    function_name: FN,
    version: 1,
    success: i % 20 !== 0,
    exception_type: i % 20 === 0 ? 'TimeoutError' : null,
    latency_ms: 1 + (i % 97),
    attempts: 1 + (i % 20 === 0 ? 2 : 0),
  }));
  const api = await startApi(loadConfig(env), logger);
  const rows = [];
  const measure = async (what, options, connections, amount) => {
    await autocannon({ ...options, connections, amount: Math.min(200, amount) });
    const result = await autocannon({ ...options, connections, amount });
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${what}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    rows.push({
      what,
      connections,
      requests: result.requests.total,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'reports/s':
        options.method === 'POST' ? Math.round((result.requests.total * BATCH) / (result.duration || 1)) : '',
    });
  };
  try {
    const ingest = {
      url: `${api.url}/api/v1/outcomes`,
      method: 'POST',
      headers: { 'x-api-key': reporter, 'content-type': 'application/json' },
      body: JSON.stringify({ reports }),
    };
    for (const c of [1, 4]) await measure('POST /api/v1/outcomes (500 reports)', ingest, c, BATCHES);
    for (const c of [1, 50]) {
      await measure('GET /health/live (floor: no auth, no database)', { url: `${api.url}/health/live` }, c, REQUESTS);
      await measure(
        'GET /api/v1/admin/api-keys (floor: auth, budgets, one query)',
        { url: `${api.url}/api/v1/admin/api-keys`, headers: { 'x-api-key': admin } },
        c,
        REQUESTS,
      );
      await measure(
        'GET /api/v1/functions/{name}/resolve',
        { url: `${api.url}/api/v1/functions/${FN}/resolve?unit=user-42`, headers: { 'x-api-key': viewer } },
        c,
        REQUESTS,
      );
    }
    const stored = await pool.query('SELECT sum(calls)::bigint AS calls, count(*)::int AS rows FROM outcome_buckets');
    console.log(`\nstored: ${stored.rows[0].calls} reports in ${stored.rows[0].rows} per-minute rows`);
  } finally {
    await api.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA} CASCADE`);
    await pool.end();
  }
  console.log(
    '\n| route | connections | requests | req/s | p50 ms | p99 ms | reports/s |\n|---|---|---|---|---|---|---|',
  );
  for (const r of rows)
    console.log(
      `| ${r.what} | ${r.connections} | ${r.requests} | ${r['req/s']} | ${r['p50 ms']} | ${r['p99 ms']} | ${r['reports/s']} |`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
