'use strict';
// What authentication, the role table, rate limiting and helmet cost per request: one API with AUTH_MODE=disabled
// and one with API keys and every budget on (Redis-backed), driven by autocannon on GET /api/v1/admin/api-keys
// (one indexed PostgreSQL query, no Temporal). Run after `npm run build`: node bench/auth-overhead.js
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const autocannon = require('autocannon');

const dist = path.join(__dirname, '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { createLogger } = require(path.join(dist, 'infra', 'observability', 'logger'));
const { createPool, migrate } = require(path.join(dist, 'infra', 'db', 'pool'));
const { ApiKeysRepo } = require(path.join(dist, 'infra', 'db', 'api-keys-repo'));
const { startApi } = require(path.join(dist, 'api', 'server'));

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);

async function main() {
  const id = randomBytes(4).toString('hex');
  const base = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_SCHEMA: `bench_auth_${id}`,
    REDIS_PREFIX: `bench:auth:${id}:`,
    // Nothing here talks to Temporal; the API's connection is lazy.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    RATE_LIMIT_ENHANCE_PER_MINUTE: '1000000',
    RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '1000000',
    RATE_LIMIT_KEY_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
  };
  const logger = createLogger({ level: 'error', service: 'bench', silent: true });
  await migrate({
    url: base.DATABASE_URL,
    schema: base.DATABASE_SCHEMA,
    dir: path.join(__dirname, '..', 'migrations'),
    logger,
  });
  const pool = createPool({ url: base.DATABASE_URL, schema: base.DATABASE_SCHEMA, max: 1 });
  const { key } = await new ApiKeysRepo(pool).create({
    tenantId: 'default',
    role: 'admin',
    name: 'bench',
    createdBy: 'bench',
  });
  const rows = [];
  try {
    for (const [mode, headers] of [
      ['disabled', {}],
      ['api_keys', { authorization: `Bearer ${key}` }],
    ]) {
      const api = await startApi(loadConfig({ ...base, AUTH_MODE: mode }), logger);
      try {
        const run = (amount) =>
          autocannon({ url: `${api.url}/api/v1/admin/api-keys`, headers, connections: 10, amount });
        await run(500);
        const result = await run(REQUESTS);
        if (result.non2xx > 0) throw new Error(`${mode}: ${result.non2xx} non-2xx answers`);
        rows.push({
          mode,
          requests: result.requests.total,
          'req/s': Math.round(result.requests.average),
          'p50 ms': result.latency.p50,
          'p99 ms': result.latency.p99,
        });
      } finally {
        await api.close();
      }
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${base.DATABASE_SCHEMA} CASCADE`);
    await pool.end();
  }
  console.log('\n| AUTH_MODE | requests | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.mode} | ${r.requests} | ${r['req/s']} | ${r['p50 ms']} | ${r['p99 ms']} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
