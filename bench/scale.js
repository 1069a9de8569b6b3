'use strict';
// Benchmark 3: scale. 100 and 500 enhancements in flight at once (autocannon connections), each a distinct
// function (a miss: a fake LLM answering after 1 s, python3 validation, version, events): throughput, p95, errors
// (anything but a 200 with the result, timeouts included) and the worker's and API's peak resident memory.
const { startFakeLlm } = require('./lib/fake-llm');
const { enhanceBody, fakeProviderEnv, load } = require('./lib/load');
const { percentiles } = require('./lib/stats');

const LLM_LATENCY_MS = 1000;
// [in flight, requests]: at 500 every connection sends one request, so all 500 are in flight together.
const SCENARIOS = [
  [100, Number(process.env.BENCH_SCALE_100_REQUESTS ?? 300)],
  [500, Number(process.env.BENCH_SCALE_500_REQUESTS ?? 500)],
];
const QUICK_SCENARIOS = [[100, 100]];

async function setup() {
  const fake = await startFakeLlm({ latencyMs: LLM_LATENCY_MS });
  // The worker's LLM timeout is well above the fake's latency: queueing must not turn into provider failures.
  return { env: { ...fakeProviderEnv(fake, { timeoutMs: 100_000 }), LOG_LEVEL: 'error' }, close: () => fake.close() };
}

async function run({ stack, figures, quick }) {
  const rows = [];
  for (const [inFlight, requests] of quick ? QUICK_SCENARIOS : SCENARIOS) {
    const bodies = Array.from({ length: requests }, (_, i) => enhanceBody(`scale${inFlight}`, i));
    const peak = { api: 0, worker: 0 };
    const sampler = setInterval(() => {
      const m = stack.memory();
      peak.api = Math.max(peak.api, m.api);
      peak.worker = Math.max(peak.worker, ...m.workers);
    }, 250);
    let result;
    try {
      result = await load(stack, bodies, {
        connections: inFlight,
        amount: requests,
        path: '/api/v1/functions/enhance?wait=120',
        timeout: 150,
      });
    } finally {
      clearInterval(sampler);
    }
    const p = percentiles(result.times);
    const errors = result.errors + (result.times.length - (result.statuses[200] ?? 0));
    const completed = result.statuses[200] ?? 0;
    console.error(`scale: ${inFlight} in flight done (${JSON.stringify(result.statuses)})`);
    rows.push({
      'in flight': inFlight,
      requests,
      'completed/s': Math.round((completed / result.seconds) * 10) / 10,
      'p50 ms': p.p50,
      'p95 ms': p.p95,
      errors,
      'API peak RSS MiB': Math.round(peak.api),
      'worker peak RSS MiB': Math.round(peak.worker),
    });
    figures[`scale.c${inFlight}.p95_ms`] = { value: p.p95, better: 'lower' };
    figures[`scale.c${inFlight}.throughput_per_s`] = {
      value: Math.round((completed / result.seconds) * 10) / 10,
      better: 'higher',
    };
    figures[`scale.c${inFlight}.errors`] = { value: errors, better: 'lower' };
    figures[`scale.c${inFlight}.worker_rss_mib`] = { value: Math.round(peak.worker), better: 'lower' };
    figures[`scale.c${inFlight}.api_rss_mib`] = { value: Math.round(peak.api), better: 'lower' };
  }
  return {
    title: `Scale: distinct enhancements in flight at once, fake LLM latency ${LLM_LATENCY_MS} ms (targets: 0 errors, each process < 512 MiB; throughput against the floor's, below)`,
    rows,
  };
}

module.exports = { name: 'scale', setup, run };
