'use strict';
// Benchmark 2: orchestration overhead. The same enhancement (a miss: LLM answer from a fake model with a fixed
// 200 ms latency, python3 validation, cache, version, events) called in-process, the activities one after the
// other as the workflow runs them, versus through the API and Temporal. Reports the ratio of the medians.
const path = require('node:path');
const { MockActivityEnvironment } = require('@temporalio/testing');
const { startFakeLlm } = require('./lib/fake-llm');
const { fakeProviderEnv } = require('./lib/load');
const { median, percentiles } = require('./lib/stats');

const dist = path.join(__dirname, '..', 'dist');
const N = Number(process.env.BENCH_OVERHEAD_N ?? 15);
const QUICK_N = 3;
const LLM_LATENCY_MS = 200;

const request = (name, i) => ({
  function_name: name,
  original_code: `def ${name}(a: int, b: int) -> int:\n    """Sum."""\n    return a + b + ${i}\n`,
  domain: 'base_reliability',
});

/** The workflow's happy path on a miss, without Temporal: the same activities with the same adapters. */
async function inProcess(activities, req, i) {
  const run = { workflow_id: `inproc-${req.function_name}`, run_id: `run-${i}` };
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: run.workflow_id, runId: run.run_id },
    activityId: '1',
    attempt: 1,
  });
  const input_hash = `inproc-${req.function_name}`;
  const scope = { tenant_id: 'default', function_name: req.function_name };
  const lookup = await activities.cacheLookupWithVersion({ input_hash, ...scope, original_code: req.original_code });
  if (lookup.hit || lookup.lineage) throw new Error('in-process: expected a miss');
  const plan = await activities.generationPlan();
  const generated = await env.run(activities.generateWithLlm, {
    request: req,
    tenant_id: 'default',
    provider: plan.providers[0],
    round: 0,
  });
  const { artifact } = generated;
  const validation = await env.run(activities.validate, { request: req, artifact, tenant_id: 'default' });
  // The workflow's metadata of a miss (metadataOf in src/workflows/enhance.ts).
  const metadata = {
    domain: req.domain,
    optimize_for: null,
    optimizations: artifact.optimizations,
    safety_level: validation.safety_level,
    cache: 'miss',
    provider: artifact.provider,
    enhancer_version: artifact.enhancer_version,
    samples_run: validation.samples_run,
    params: artifact.params,
    fallback: false,
    attempts: generated.attempts,
    usage: { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, latency_ms: 0 },
    findings: validation.findings ?? [],
  };
  // As the workflow: the cache entry written alongside the version.
  const [stored] = await Promise.all([
    activities.storeVersion({
      tenant_id: 'default',
      ...run,
      input_hash,
      trigger: 'request',
      request: req,
      artifact,
      metadata,
    }),
    activities.cacheStore({ key: lookup.key, value: { artifact, validation, source: req.original_code }, ...scope }),
  ]);
  await activities.publish({
    tenant_id: 'default',
    function_name: req.function_name,
    ...run,
    events: [
      { type: 'version.created', payload: { version: stored.version, domain: req.domain } },
      {
        type: 'enhancement.completed',
        payload: { version: stored.version, cache: 'miss', safety_level: validation.safety_level },
      },
    ],
  });
}

async function setup() {
  const fake = await startFakeLlm({ latencyMs: LLM_LATENCY_MS });
  return { env: fakeProviderEnv(fake), close: () => fake.close() };
}

async function run({ stack, figures, quick }) {
  const n = quick ? QUICK_N : N;
  const { loadConfig } = require(path.join(dist, 'config'));
  const { createLogger } = require(path.join(dist, 'infra', 'observability', 'logger'));
  const { Metrics } = require(path.join(dist, 'infra', 'observability', 'metrics'));
  const { createWorkerDeps } = require(path.join(dist, 'worker', 'deps'));
  const { createActivities } = require(path.join(dist, 'activities'));
  const config = loadConfig(stack.env);
  const deps = createWorkerDeps(
    config,
    createLogger({ level: 'error', service: 'bench', silent: true }),
    new Metrics({ domains: [], stages: [], defaultMetrics: false }),
  );
  const activities = createActivities(deps);
  const viaApi = [];
  const direct = [];
  try {
    // Alternated, so drift in the machine's load falls on both sides alike; the first pair warms both paths up.
    for (let i = 0; i <= n; i++) {
      const started = performance.now();
      const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
        method: 'POST',
        headers: stack.headers,
        body: JSON.stringify(request(`over_api_${i}`, i)),
      });
      const body = await res.json();
      if (res.status !== 200 || body.metadata.cache !== 'miss')
        throw new Error(`overhead: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      const apiMs = performance.now() - started;
      const t0 = performance.now();
      await inProcess(activities, request(`over_direct_${i}`, i), i);
      const directMs = performance.now() - t0;
      if (i > 0) {
        viaApi.push(apiMs);
        direct.push(directMs);
      }
    }
  } finally {
    await deps.close();
  }
  const ratio = Math.round((median(viaApi) / median(direct)) * 1000) / 1000;
  figures['overhead.ratio_of_medians'] = { value: ratio, better: 'lower' };
  figures['overhead.api_p50_ms'] = { value: percentiles(viaApi).p50, better: 'lower' };
  const row = (path, times) => ({
    path,
    n: times.length,
    ...Object.fromEntries(
      Object.entries(percentiles(times))
        .filter(([k]) => k !== 'n')
        .map(([k, v]) => [`${k} ms`, v]),
    ),
  });
  return {
    title: `Orchestration overhead: one miss with a ${LLM_LATENCY_MS} ms fake LLM; ratio of medians API+Temporal / in-process = ${ratio} (target: the floor's ratio + 0.05, below)`,
    rows: [
      row('in-process (activities called directly)', direct),
      row('API + Temporal (POST, 200 with the result)', viaApi),
    ],
  };
}

module.exports = { name: 'overhead', setup, run };
