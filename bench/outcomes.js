'use strict';
// Field outcomes and resolution: ingestion throughput of POST /api/v1/outcomes (batches of 500 reports, as the
// runtime sends them, all for one version: every batch adds to the same minute's row) and the latency of
// GET /api/v1/functions/{name}/resolve at 1 and 50 connections, beside the floor of the same API: GET /health/live
// (no authentication, no database) and GET /api/v1/admin/api-keys (authentication, budgets, one indexed query).
// API keys and every budget on (Redis-backed). Run after `npm run build`: node bench/outcomes.js
const { benchApiSchema, timeRoute } = require('./lib/api');
const { printTable } = require('./lib/stats');

const BATCH = 500;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const FN = 'bench_fn';

async function main() {
  const schema = await benchApiSchema('outcomes', {
    AUTH_MODE: 'api_keys',
    RATE_LIMIT_TENANT_REPORTS_PER_MINUTE: '1000000000',
    RATE_LIMIT_KEY_PER_MINUTE: '1000000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000000',
  });
  const { pool } = schema;
  const viewer = await schema.key('viewer');
  const admin = await schema.key('admin');
  const reporter = await schema.key('reporter');
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
  const api = await schema.startApi();
  const rows = [];
  const measure = async (what, options, connections, amount) => {
    const { row, result } = await timeRoute(what, options, { connections, amount });
    const perSecond = Math.round((result.requests.total * BATCH) / (result.duration || 1));
    rows.push({ ...row, 'reports/s': options.method === 'POST' ? perSecond : '' });
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
    await schema.close();
  }
  printTable('Outcome ingestion and resolution, beside the floor of the same API', rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
