'use strict';
// Benchmark 1: cache-hit latency through API -> workflow -> result at concurrency 1, 10 and 100.
const autocannon = require('autocannon');
const { percentiles } = require('./lib/stats');

const FUNCTIONS = 50;

const body = (i) => {
  const name = `hit_${i}`;
  return JSON.stringify({ function_name: name, original_code: `def ${name}(a: int, b: int) -> int:\n    """Sum."""\n    return a + b + ${i}\n` });
};

/** Runs autocannon over the given bodies (cycled) and returns every response time plus non-2xx and error counts. */
async function load(url, headers, bodies, { connections, amount }) {
  const times = [];
  let cursor = 0;
  const instance = autocannon({
    url: `${url}/api/v1/functions/enhance`,
    method: 'POST',
    headers,
    connections,
    amount,
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[cursor++ % bodies.length] }) }],
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  const result = await instance;
  return { times, non2xx: result.non2xx, errors: result.errors + result.timeouts, rps: result.requests.average };
}

async function run({ stack, figures }) {
  const bodies = Array.from({ length: FUNCTIONS }, (_, i) => body(i));
  for (const b of bodies) {
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body: b });
    if (res.status !== 200) throw new Error(`warm-up: HTTP ${res.status} ${await res.text()}`);
  }
  console.error(`hit-latency: ${FUNCTIONS} functions warmed`);
  const check = await (await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body: bodies[0] })).json();
  if (check.metadata.cache !== 'hit') throw new Error(`expected a cache hit after warm-up, got ${check.metadata.cache}`);

  const rows = [];
  for (const [connections, amount] of [[1, 300], [10, 1000], [100, 2000]]) {
    await load(stack.url, stack.headers, bodies, { connections, amount: Math.min(200, amount) });
    const { times, non2xx, errors, rps } = await load(stack.url, stack.headers, bodies, { connections, amount });
    console.error(`hit-latency: concurrency ${connections} done (${times.length} requests)`);
    const p = percentiles(times);
    rows.push({ concurrency: connections, requests: p.n, 'req/s': rps, 'p50 ms': p.p50, 'p95 ms': p.p95, 'p99 ms': p.p99, 'non-2xx': non2xx, errors });
    figures[`hit.c${connections}.p50_ms`] = { value: p.p50, better: 'lower' };
    figures[`hit.c${connections}.p99_ms`] = { value: p.p99, better: 'lower' };
  }
  return { title: 'Cache-hit latency, POST /api/v1/functions/enhance (API -> workflow -> result)', rows };
}

module.exports = { name: 'hit-latency', run };
