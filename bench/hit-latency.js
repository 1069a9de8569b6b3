'use strict';
// Benchmark 1: cache-hit latency through API -> workflow -> result at concurrency 1, 10 and 100.
const { percentiles } = require('./lib/stats');
const { load, enhanceBody } = require('./lib/load');

const FUNCTIONS = 50;
// [concurrency, requests]; quick runs (`--quick`) only show the code path works.
const LOADS = [
  [1, 300],
  [10, 600],
  [100, 1000],
];
const QUICK_LOADS = [
  [1, 40],
  [10, 40],
];

async function run({ stack, figures, quick }) {
  const bodies = Array.from({ length: quick ? 10 : FUNCTIONS }, (_, i) => enhanceBody('hit', i));
  for (const b of bodies) {
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
      method: 'POST',
      headers: stack.headers,
      body: b,
    });
    if (res.status !== 200) throw new Error(`warm-up: HTTP ${res.status} ${await res.text()}`);
  }
  console.error(`hit-latency: ${bodies.length} functions warmed`);
  const check = await (
    await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body: bodies[0] })
  ).json();
  if (check.metadata.cache !== 'hit')
    throw new Error(`expected a cache hit after warm-up, got ${check.metadata.cache}`);

  const rows = [];
  for (const [connections, amount] of quick ? QUICK_LOADS : LOADS) {
    await load(stack, bodies, { connections, amount: Math.min(200, amount) });
    const { times, statuses, non2xx, errors, rps } = await load(stack, bodies, { connections, amount });
    console.error(
      `hit-latency: concurrency ${connections} done (${times.length} requests, statuses ${JSON.stringify(statuses)})`,
    );
    const p = percentiles(times);
    rows.push({
      concurrency: connections,
      requests: p.n,
      'req/s': rps,
      'p50 ms': p.p50,
      'p95 ms': p.p95,
      'p99 ms': p.p99,
      'non-2xx': non2xx,
      errors,
    });
    figures[`hit.c${connections}.p50_ms`] = { value: p.p50, better: 'lower' };
    figures[`hit.c${connections}.p99_ms`] = { value: p.p99, better: 'lower' };
  }
  return { title: 'Cache-hit latency, POST /api/v1/functions/enhance (API -> workflow -> result)', rows };
}

module.exports = { name: 'hit-latency', run };
