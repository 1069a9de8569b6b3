'use strict';
// The API alone, in this process, on a fresh PostgreSQL schema and Redis prefix, for benchmarks of routes that do not
// reach Temporal (bench/outcomes.js, bench/auth-overhead.js); and the autocannon round they time each route with.
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const autocannon = require('autocannon');

const dist = path.join(__dirname, '..', '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { createLogger } = require(path.join(dist, 'infra', 'observability', 'logger'));
const { createPool, migrate } = require(path.join(dist, 'infra', 'db', 'pool'));
const { ApiKeysRepo } = require(path.join(dist, 'infra', 'db', 'api-keys-repo'));
const { startApi } = require(path.join(dist, 'api', 'server'));

/** An API key of the default tenant, made on `pool`'s schema. */
async function createApiKey(pool, role, name = role) {
  return (await new ApiKeysRepo(pool).create({ tenantId: 'default', role, name, createdBy: 'bench' })).key;
}

/**
 * The schema `bench_<name>_<id>` migrated, a one-connection pool on it and the settings of an API on it (`env`,
 * completed by `overrides`); `startApi(overrides)` starts one; `close()` drops the schema.
 */
async function benchApiSchema(name, overrides = {}) {
  const id = randomBytes(4).toString('hex');
  const env = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_SCHEMA: `bench_${name}_${id}`,
    REDIS_PREFIX: `bench:${name}:${id}:`,
    // Nothing here talks to Temporal; the API's connection is lazy.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    ...overrides,
  };
  const logger = createLogger({ level: 'error', service: 'bench', silent: true });
  await migrate({
    url: env.DATABASE_URL,
    schema: env.DATABASE_SCHEMA,
    dir: path.join(__dirname, '..', '..', 'migrations'),
    logger,
  });
  const pool = createPool({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, max: 1 });
  return {
    env,
    pool,
    key: (role) => createApiKey(pool, role),
    startApi: (more = {}) => startApi(loadConfig({ ...env, ...more }), logger),
    close: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA} CASCADE`);
      await pool.end();
    },
  };
}

/**
 * autocannon with `options`, `amount` requests after `warmUp` not counted; any non-2xx answer or error fails the
 * benchmark. Gives requests, req/s, p50 and p99.
 */
async function timeRoute(what, options, { connections, amount, warmUp = Math.min(200, amount) }) {
  await autocannon({ ...options, connections, amount: warmUp });
  const result = await autocannon({ ...options, connections, amount });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${what}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return {
    result,
    row: {
      what,
      connections,
      requests: result.requests.total,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
    },
  };
}

module.exports = { benchApiSchema, createApiKey, timeRoute };
