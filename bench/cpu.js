'use strict';
// CPU per request, per process: where a hit's and a miss's CPU goes (API, worker with its python3 sandboxes, Temporal
// server: on a cluster also each of its frontend, history, matching and worker services, each a process), and apart
// the service's own PostgreSQL backends (Temporal's persistence is inside the dev server, in PostgreSQL on a cluster).
// On a shared or small machine, latency under load is CPU queueing; CPU seconds per request are the figure that does
// not depend on what else runs. Hits at concurrency 1 and 50; misses all in flight at once.
const { startFakeLlm } = require('./lib/fake-llm');
const { enhanceBody, fakeProviderEnv } = require('./lib/load');
const { percentiles } = require('./lib/stats');

const LLM_LATENCY_MS = 1000;
const MISSES = Number(process.env.BENCH_CPU_MISSES ?? 60);
const HITS = Number(process.env.BENCH_CPU_HITS ?? 300);
const QUICK = { misses: 10, hits: 100 };

async function setup() {
  const fake = await startFakeLlm({ latencyMs: LLM_LATENCY_MS });
  return { env: { ...fakeProviderEnv(fake, { timeoutMs: 100_000 }), LOG_LEVEL: 'error' }, close: () => fake.close() };
}

/** Sends the bodies `concurrency` at a time; every answer must be a 200 with the expected cache outcome. */
async function send(stack, bodies, concurrency, cache) {
  const times = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const t0 = performance.now();
        const res = await fetch(`${stack.url}/api/v1/functions/enhance?wait=120`, {
          method: 'POST',
          headers: stack.headers,
          body,
        });
        const answer = await res.json();
        if (res.status !== 200 || answer.metadata.cache !== cache)
          throw new Error(`cpu: HTTP ${res.status}, expected a ${cache}: ${JSON.stringify(answer).slice(0, 300)}`);
        times.push(performance.now() - t0);
      }
    }),
  );
  return { times, seconds: (performance.now() - started) / 1000 };
}

/** CPU ms per request of database backends between two readings by pid (a backend new since `before` from 0). */
function backendsPerRequest(before, after, requests) {
  let seconds = 0;
  for (const [pid, cpu] of after) seconds += cpu - (before.get(pid) ?? 0);
  return Math.round(((seconds * 1000) / requests) * 10) / 10;
}

/**
 * CPU ms per request of each process between two stack.cpu() readings; of each Temporal service when they run apart
 * (a cluster); and `python`: what the processes' python3 children used (the API's parser, the workers' validation
 * sandboxes), which the floor's workflows have no counterpart of.
 */
function perRequest(before, after, requests) {
  const round = (value) => Math.round(value * 10) / 10;
  const ms = (a, b) => round(((a.self + a.children - b.self - b.children) * 1000) / requests);
  // Rounded again: a sum of rounded figures shows float noise (5.699999999999999).
  const worker = round(after.workers.reduce((sum, w, i) => sum + ms(w, before.workers[i]), 0));
  const services =
    after.services &&
    Object.fromEntries(Object.entries(after.services).map(([name, cpu]) => [name, ms(cpu, before.services[name])]));
  const children = (a, b) => a.children - b.children;
  const python = round(
    ((children(after.api, before.api) + after.workers.reduce((sum, w, i) => sum + children(w, before.workers[i]), 0)) *
      1000) /
      requests,
  );
  return { api: ms(after.api, before.api), worker, server: ms(after.server, before.server), services, python };
}

async function run({ stack, figures, quick, topology }) {
  const misses = quick ? QUICK.misses : MISSES;
  const hits = quick ? QUICK.hits : HITS;
  const rows = [];
  const measure = async (label, key, bodies, concurrency, cache) => {
    const databaseBefore = await stack.databaseCpu();
    const before = stack.cpu();
    const { times, seconds } = await send(stack, bodies, concurrency, cache);
    const cpu = perRequest(before, stack.cpu(), bodies.length);
    const databaseAfter = await stack.databaseCpu();
    const database = backendsPerRequest(databaseBefore.service, databaseAfter.service, bodies.length);
    const temporalDatabase = backendsPerRequest(databaseBefore.temporal, databaseAfter.temporal, bodies.length);
    const p = percentiles(times);
    console.error(`cpu: ${label} done`);
    rows.push({
      requests: label,
      'req/s': Math.round((bodies.length / seconds) * 10) / 10,
      'p50 ms': p.p50,
      'p95 ms': p.p95,
      'API CPU ms/req': cpu.api,
      'worker CPU ms/req (python3 included)': cpu.worker,
      'Temporal CPU ms/req': cpu.server,
      ...Object.fromEntries(
        Object.entries(cpu.services ?? {}).map(([service, value]) => [`of it ${service} ms/req`, value]),
      ),
      'total CPU ms/req': Math.round((cpu.api + cpu.worker + cpu.server) * 10) / 10,
      'of which python3 (parse, validation)': cpu.python,
      'PostgreSQL CPU ms/req, service (not in the total)': database,
      ...(topology === 'cluster'
        ? { "PostgreSQL CPU ms/req, Temporal's databases (not in the total)": temporalDatabase }
        : {}),
    });
    figures[`cpu.${key}.postgres_ms_per_request`] = { value: database, better: 'lower' };
    if (topology === 'cluster')
      figures[`cpu.${key}.temporal_postgres_ms_per_request`] = { value: temporalDatabase, better: 'lower' };
    for (const [service, value] of Object.entries(cpu.services ?? {}))
      figures[`cpu.${key}.temporal_${service}_ms_per_request`] = { value, better: 'lower' };
    const total = Math.round((cpu.api + cpu.worker + cpu.server) * 10) / 10;
    figures[`cpu.${key}.total_ms_per_request`] = { value: total, better: 'lower' };
    figures[`cpu.${key}.python_ms_per_request`] = { value: cpu.python, better: 'lower' };
    figures[`cpu.${key}.without_python_ms_per_request`] = {
      value: Math.round((total - cpu.python) * 10) / 10,
      better: 'lower',
    };
  };
  const missBodies = Array.from({ length: misses }, (_, i) => enhanceBody('cpumiss', i));
  // Warm-up: code paths, connections and the sandbox's interpreter, outside the measurement.
  await send(stack, [enhanceBody('cpuwarm', 0)], 1, 'miss');
  await measure(`${misses} misses, all in flight`, 'miss', missBodies, misses, 'miss');
  const hitBodies = Array.from({ length: hits }, (_, i) => missBodies[i % missBodies.length]);
  await measure(`${hits} hits, concurrency 1`, 'hit_c1', hitBodies, 1, 'hit');
  await measure(`${hits} hits, concurrency 50`, 'hit_c50', hitBodies, 50, 'hit');
  return {
    title: `CPU per request and process (fake LLM ${LLM_LATENCY_MS} ms; python3 sandboxes count in the worker)`,
    rows,
  };
}

module.exports = { name: 'cpu', setup, run };
