// Instrumentation overhead: what request ids, correlated logs and metrics cost per request and per
// activity, against the enhancement latency they instrument. Run after `npm run build`:
//   node bench/observability.js            (BENCH_SECONDS per autocannon round, default 8)
const { Writable } = require('node:stream');
const autocannon = require('autocannon');
const express = require('express');
const { defaultPayloadConverter } = require('@temporalio/common');
const { requestContext, httpMetrics } = require('../dist/http/observability');
const { createLogger } = require('../dist/infra/observability/logger');
const { Metrics } = require('../dist/infra/observability/metrics');
const { activityObservability } = require('../dist/worker/activity-observability');

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });

function app(instrumented, level) {
  const a = express();
  if (instrumented) {
    const logger = createLogger({ level, service: 'bench', stream: sink() });
    a.use(requestContext(logger));
    a.use(httpMetrics(new Metrics({ domains: ['base_reliability'], stages: [] })));
  }
  a.get('/api/v1/runs/:id', (_req, res) => res.json({ status: 'running', run: { workflow_id: 'w', run_id: 'r' } }));
  return a;
}

async function rps(server) {
  const { port } = server.address();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/v1/runs/enhance-x-0123456789ab`,
    connections: 10,
    duration: seconds,
  });
  return { rps: result.requests.average, p50: result.latency.p50 };
}

async function httpRound(label, instrumented, level) {
  const server = app(instrumented, level).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  await rps(server); // warm-up
  const out = await rps(server);
  server.close();
  return { label, ...out };
}

async function activityNs(instrumented) {
  const logger = createLogger({ level: 'info', service: 'bench', stream: sink() });
  const metrics = new Metrics({ domains: [], stages: ['cacheLookup'] });
  const ctx = {
    info: {
      activityType: 'cacheLookup',
      attempt: 1,
      workflowExecution: { workflowId: 'enhance-x-0123456789ab', runId: 'r' },
    },
  };
  const { inbound } = activityObservability({ logger, metrics })(ctx);
  const input = { args: [], headers: { 'poet-request-id': defaultPayloadConverter.toPayload('req-1') } };
  const next = async () => ({ key: 'k', hit: null });
  const call = instrumented ? () => inbound.execute(input, next) : () => next(input);
  const n = 200_000;
  for (let i = 0; i < 20_000; i++) await call();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call();
  return Number(process.hrtime.bigint() - started) / n;
}

async function main() {
  const rounds = [];
  // Alternate bare and instrumented rounds so drift on a shared machine hits both.
  for (let i = 0; i < 2; i++) {
    rounds.push(await httpRound('bare', false));
    rounds.push(await httpRound('instrumented (LOG_LEVEL=info)', true, 'info'));
    rounds.push(await httpRound('instrumented + access log (LOG_LEVEL=http)', true, 'http'));
  }
  const avg = (label) => {
    const rs = rounds.filter((r) => r.label === label);
    return rs.reduce((s, r) => s + r.rps, 0) / rs.length;
  };
  const bare = avg('bare');
  console.log('| HTTP variant | req/s (mean of 2 rounds) | µs per request | added µs per request |');
  console.log('|---|---|---|---|');
  for (const label of ['bare', 'instrumented (LOG_LEVEL=info)', 'instrumented + access log (LOG_LEVEL=http)']) {
    const r = avg(label);
    console.log(
      `| ${label} | ${r.toFixed(0)} | ${(1e6 / r).toFixed(1)} | ${label === 'bare' ? '–' : (1e6 / r - 1e6 / bare).toFixed(1)} |`,
    );
  }
  const plain = await activityNs(false);
  const observed = await activityNs(true);
  console.log('');
  console.log(
    `activity interceptor: ${(plain / 1000).toFixed(2)} µs bare call, ${(observed / 1000).toFixed(2)} µs observed (log line, histogram, context): +${((observed - plain) / 1000).toFixed(2)} µs per activity`,
  );
  const perRequestUs = 1e6 / avg('instrumented + access log (LOG_LEVEL=http)') - 1e6 / bare;
  const perActivityUs = (observed - plain) / 1000;
  console.log(
    `per enhancement (1 request, 6 activities on a miss, 3 on a hit): +${(perRequestUs + 6 * perActivityUs).toFixed(1)} µs miss, +${(perRequestUs + 3 * perActivityUs).toFixed(1)} µs hit`,
  );
  console.log(JSON.stringify({ perRequestUs, perActivityUs }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
