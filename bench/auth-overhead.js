'use strict';
// What authentication, the role table, rate limiting and helmet cost per request: one API with AUTH_MODE=disabled
// and one with API keys and every budget on (Redis-backed), driven by autocannon on GET /api/v1/admin/api-keys
// (one indexed PostgreSQL query, no Temporal). Run after `npm run build`: node bench/auth-overhead.js
const { benchApiSchema, timeRoute } = require('./lib/api');
const { printTable } = require('./lib/stats');

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);

async function main() {
  const schema = await benchApiSchema('auth', {
    RATE_LIMIT_ENHANCE_PER_MINUTE: '1000000',
    RATE_LIMIT_TENANT_ENHANCE_PER_MINUTE: '1000000',
    RATE_LIMIT_KEY_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
  });
  const rows = [];
  try {
    const key = await schema.key('admin');
    for (const [mode, headers] of [
      ['disabled', {}],
      ['api_keys', { authorization: `Bearer ${key}` }],
    ]) {
      const api = await schema.startApi({ AUTH_MODE: mode });
      try {
        const { row } = await timeRoute(
          `AUTH_MODE=${mode}`,
          { url: `${api.url}/api/v1/admin/api-keys`, headers },
          { connections: 10, amount: REQUESTS, warmUp: 500 },
        );
        rows.push(row);
      } finally {
        await api.close();
      }
    }
  } finally {
    await schema.close();
  }
  printTable('GET /api/v1/admin/api-keys, 10 connections', rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
