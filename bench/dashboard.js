'use strict';
// Benchmark: what one dashboard refresh costs. The page's files, then each JSON route it polls every 5 s, with 30
// runs in the tenant's history (GET /api/v1/runs reads Temporal's visibility store), at concurrency 1 and 10.
const autocannon = require('autocannon');
const { percentiles } = require('./lib/stats');

const RUNS = 30;
const ROUTES = [
  '/dashboard',
  '/dashboard/app.js',
  '/health/ready',
  '/api/v1/runs?limit=20',
  '/api/v1/costs?days=14',
  '/api/v1/cache/stats',
  '/api/v1/functions?limit=100',
];

async function load(url, headers, connections, amount) {
  const times = [];
  const instance = autocannon({ url, headers, connections, amount });
  instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  const result = await instance;
  return { times, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

async function run({ stack, figures }) {
  for (let i = 0; i < RUNS; i++) {
    const name = `dash_${i}`;
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
      method: 'POST',
      headers: stack.headers,
      body: JSON.stringify({
        function_name: name,
        original_code: `def ${name}(x: int) -> int:\n    return x + ${i}\n`,
      }),
    });
    if (res.status !== 200) throw new Error(`warm-up: HTTP ${res.status} ${await res.text()}`);
  }
  const headers = { authorization: stack.headers.authorization };
  const rows = [];
  for (const route of ROUTES) {
    for (const connections of [1, 10]) {
      await load(`${stack.url}${route}`, headers, connections, 50);
      const { times, non2xx, errors } = await load(`${stack.url}${route}`, headers, connections, 300);
      const p = percentiles(times);
      rows.push({
        route,
        concurrency: connections,
        requests: p.n,
        'p50 ms': p.p50,
        'p95 ms': p.p95,
        'p99 ms': p.p99,
        'non-2xx': non2xx,
        errors,
      });
      figures[`dashboard.${route.replace(/\?.*/, '')}.c${connections}.p95_ms`] = { value: p.p95, better: 'lower' };
    }
  }
  return { title: `One dashboard refresh, per route (${RUNS} runs in the tenant's history)`, rows };
}

module.exports = { name: 'dashboard', run };
