#!/usr/bin/env node
// Latency of one enhancement through the API: cache miss (generate + validate in python3) and cache hit,
// each the median of N sequential requests, on a local Temporal dev server with the machine's PostgreSQL and Redis.
// Run: npm run bench   (builds first; uses TEMPORAL_ADDRESS when set, else starts a dev server)
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { TestWorkflowEnvironment } = require('@temporalio/testing');
const { DefaultLogger, Runtime } = require('@temporalio/worker');

const dist = path.join(__dirname, '..', 'dist');
const { loadConfig } = require(path.join(dist, 'config'));
const { createLogger } = require(path.join(dist, 'infra', 'observability', 'logger'));
const { createPool } = require(path.join(dist, 'infra', 'db', 'pool'));
const { startApi } = require(path.join(dist, 'api', 'server'));
const { startWorker } = require(path.join(dist, 'worker', 'worker'));
const { SEARCH_ATTRIBUTE_KEYS } = require(path.join(dist, 'definitions', 'search-attributes'));
const { devServerExtraArgs, ensureTemporalCli } = require(path.join(dist, 'cli', 'temporal-dev'));

const N = Number(process.env.BENCH_N ?? 20);

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summary(label, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    label,
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    max: sorted[sorted.length - 1],
  };
}

async function timedPost(url, body) {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  if (process.env.BENCH_VERBOSE) console.log(ms.toFixed(1), json.metadata.cache);
  return { ms, cache: json.metadata.cache };
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  let server;
  const env = { ...process.env };
  if (!env.TEMPORAL_ADDRESS) {
    const cli = ensureTemporalCli(path.join(__dirname, '..'), env);
    server = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli },
        ip: '127.0.0.1',
        searchAttributes: SEARCH_ATTRIBUTE_KEYS,
        extraArgs: devServerExtraArgs(),
      },
    });
    env.TEMPORAL_ADDRESS = server.address;
  }
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-bench-'));
  const config = loadConfig({
    ...env,
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_SCHEMA: `bench_${id}`,
    REDIS_PREFIX: `bench:${id}:`,
    TEMPORAL_TASK_QUEUE: `poet-bench-${id}`,
    DATA_DIR: dataDir,
    // Sequential latency of the enhancement itself: no credentials check, no budgets.
    AUTH_MODE: 'disabled',
    RATE_LIMIT_ENHANCE_PER_MINUTE: '0',
    RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '0',
    RATE_LIMIT_KEY_PER_MINUTE: '0',
  });
  const logger = createLogger({ level: 'error', service: 'bench', silent: true });
  const worker = await startWorker(config, logger);
  const api = await startApi(config, logger);
  const url = `${api.url}/api/v1/functions/enhance`;
  const bodies = Array.from({ length: N }, (_, i) => {
    const name = `bench_${id}_${i}`;
    return {
      function_name: name,
      original_code: `def ${name}(a: int, b: int) -> int:\n    """Sum."""\n    return a + b + ${i}\n`,
    };
  });
  try {
    await timedPost(url, { function_name: 'warmup', original_code: 'def warmup(x: int) -> int:\n    return x\n' });
    const miss = [];
    for (const body of bodies) {
      const r = await timedPost(url, body);
      if (r.cache !== 'miss') throw new Error(`expected a miss, got ${r.cache}`);
      miss.push(r.ms);
    }
    const hit = [];
    for (const body of bodies) {
      const r = await timedPost(url, body);
      if (r.cache !== 'hit') throw new Error(`expected a hit, got ${r.cache}`);
      hit.push(r.ms);
    }
    const rows = [
      summary('cache miss (generate + validate + store + publish)', miss),
      summary('cache hit (lookup + store + publish)', hit),
    ];
    console.log(
      `\nPOST /api/v1/functions/enhance, sequential, N=${N}, ${os.cpus().length} cores, node ${process.version}\n`,
    );
    console.log('| path | n | p50 ms | p95 ms | max ms |');
    console.log('|---|---|---|---|---|');
    for (const r of rows)
      console.log(`| ${r.label} | ${r.n} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} |`);
  } finally {
    await api.close();
    await worker.shutdown();
    const pool = createPool({ url: config.DATABASE_URL, schema: 'public', max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${config.DATABASE_SCHEMA} CASCADE`);
    await pool.end();
    rmSync(dataDir, { recursive: true, force: true });
    await server?.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
