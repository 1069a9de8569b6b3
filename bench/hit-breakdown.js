'use strict';
// Benchmark: where a cache hit's time goes, stage by stage, beside the same stage of the floor's hit shape
// (bench/lib/floor-workflows.js: update-with-start, two no-op local activities, the answer, one more) run on the same
// Temporal dev server in the same run, in alternating blocks so both see the same load. One request at a time after
// warm-up, as hit-latency's concurrency 1. Each request's stages come from the client's clock, the API's access line
// (the API alone logs at level `http`) and the run's history (bench/lib/hit-stages.js), all clocks of this machine.
const { randomUUID } = require('node:crypto');
const path = require('node:path');
const { IllegalStateError } = require('@temporalio/common');
const { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateStage } = require('@temporalio/client');
const { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } = require('@temporalio/worker');
const { apiTimes, hitStages } = require('./lib/hit-stages');
const { enhanceBody } = require('./lib/load');
const { percentiles } = require('./lib/stats');

// Hits of ours and runs of the floor, the functions the hits cycle through, the floor's warm-up runs; quick runs
// (`--quick`) only show the code path works.
const FULL = { n: 100, functions: 20, floorWarmUp: 30 };
const QUICK = { n: 20, functions: 5, floorWarmUp: 5 };
// Ours and the floor take turns by this many requests; the reference key lookup is timed this many times.
const BLOCK = 10;
const LOOKUPS = 200;

/** The API's access lines by request id (the benchmark names each request). */
const accessLines = new Map();

function onApiLog(line) {
  if (!line.startsWith('{')) return;
  const entry = JSON.parse(line);
  if (entry.message === 'request' && entry.request_id) accessLines.set(entry.request_id, entry);
}

const now = () => performance.timeOrigin + performance.now();

/** The stages' rows, by their key in hitStages; `·` marks a part of the row above (the floor has no API parts). */
const ROWS = [
  ['client_to_started', 'client sent → WorkflowExecutionStarted (floor: the SDK client, gRPC, server)'],
  ['client_to_started.http_in', '· client sent → API received (HTTP in; access line, ±0.5 ms)'],
  ['client_to_started.api', '· API received → started (auth, checks, parse cache, hashes, interceptors, gRPC)'],
  ['to_task_started', 'started → first workflow task started (scheduled, then matched to a poll)'],
  ['wft', 'first workflow task started → completed'],
  ['wft.to_first_la', '· task started → first local activity scheduled (delivery, activation, workflow code)'],
  ['wft.la_run', '· local activities running (sum)'],
  ['wft.la_run.*', '· · '],
  ['wft.between_las', '· between local activities (dispatch wait, result back to the workflow, its code)'],
  ['wft.after_last_la', '· last local activity done → task completed (last activation, completion, server)'],
  ['completion', 'task completed → UpdateCompleted event (server writes the task’s events)'],
  ['answer', 'UpdateCompleted → client received the answer'],
  ['answer.api', '· → API answered (update outcome to the API, codec, response body)'],
  ['answer.http_out', '· API answered → client received (HTTP out; access line, ±0.5 ms)'],
  ['total', 'total, client sent → received'],
  ['http_both_ways', 'of the total, outside the API (client total − access line duration)'],
];

const round = (v) => Math.round(v * 10) / 10;
const mean = (values) => round(values.reduce((a, b) => a + b, 0) / values.length);
const p50 = (values) => (values.length ? percentiles(values).p50 : '');

/** Table rows: each stage's p50 and mean for ours and the floor, and the difference of the p50s. */
function tableRows(ours, floor) {
  const values = (runs, key) => runs.map((s) => s[key]).filter((v) => v !== undefined);
  const laTypes = (runs) => [
    ...new Set(runs.flatMap((s) => Object.keys(s).filter((k) => k.startsWith('wft.la_run.')))),
  ];
  const expanded = ROWS.flatMap(([key, label]) =>
    key === 'wft.la_run.*'
      ? [...laTypes(ours), ...laTypes(floor)].map((k) => [k, `${label}${k.slice('wft.la_run.'.length)}`])
      : [[key, label]],
  );
  return expanded.map(([key, label]) => {
    const o = values(ours, key);
    const f = values(floor, key);
    const [op, fp] = [p50(o), p50(f)];
    return {
      stage: label,
      'ours p50 ms': op,
      'floor p50 ms': fp,
      'ours − floor ms': op !== '' && fp !== '' ? round(op - fp) : '',
      'ours mean ms': o.length ? mean(o) : '',
      'floor mean ms': f.length ? mean(f) : '',
    };
  });
}

/** Runtime.install once per process: bench/floor.js may have installed it earlier in this run. */
function quietRuntime() {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err;
  }
}

/** The floor's hit shape on the stack's own Temporal: a worker and a client in this process, as bench/floor.js runs them. */
async function startFloor(address, namespace) {
  quietRuntime();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./lib/floor-workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const taskQueue = `floor-${randomUUID()}`;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    namespace,
    taskQueue,
    workflowBundle: { code },
    activities: { noop: async () => undefined, sleep: async () => undefined },
  });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address }), namespace });
  const once = async () => {
    const workflowId = randomUUID();
    const sentAt = now();
    const handle = await client.workflow.startUpdateWithStart('result', {
      startWorkflowOperation: new WithStartWorkflowOperation('hitShape', {
        taskQueue,
        workflowId,
        workflowIdConflictPolicy: 'FAIL',
      }),
      waitForStage: WorkflowUpdateStage.ACCEPTED,
    });
    await handle.result();
    return { sentAt, receivedAt: now(), workflowId, runId: handle.workflowRunId };
  };
  return {
    client,
    once,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

async function run({ stack, figures, quick }) {
  const { n, functions, floorWarmUp } = quick ? QUICK : FULL;
  const bodies = Array.from({ length: functions }, (_, i) => enhanceBody('breakdown', i));
  let next = 0;
  const ours = async () => {
    const requestId = `breakdown-${randomUUID()}`;
    const sentAt = now();
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
      method: 'POST',
      headers: { ...stack.headers, 'x-request-id': requestId },
      body: bodies[next++ % bodies.length],
    });
    const text = await res.text();
    const receivedAt = now();
    if (res.status !== 200) throw new Error(`HTTP ${res.status} ${text}`);
    const { metadata, run } = JSON.parse(text);
    return { sentAt, receivedAt, requestId, cache: metadata.cache, workflowId: run.workflow_id, runId: run.run_id };
  };
  // Each function once (a miss), then once more as a hit, so the hit path is warm.
  for (let i = 0; i < 2 * bodies.length; i++) await ours();
  const namespace = stack.env.TEMPORAL_NAMESPACE ?? 'default';
  const floor = await startFloor(stack.env.TEMPORAL_ADDRESS, namespace);
  try {
    for (let i = 0; i < floorWarmUp; i++) await floor.once();
    console.error(`hit-breakdown: ${bodies.length} functions warmed, floor warmed`);
    const oursRuns = [];
    const floorRuns = [];
    while (oursRuns.length < n) {
      for (let i = 0; i < BLOCK && oursRuns.length < n; i++) oursRuns.push(await ours());
      for (let i = 0; i < BLOCK && floorRuns.length < n; i++) floorRuns.push(await floor.once());
    }
    const misses = oursRuns.filter((r) => r.cache !== 'hit').length;
    if (misses > 0) throw new Error(`expected cache hits after warm-up, got ${misses} other answers`);

    // Histories are read once every request is done, so reading them loads nothing measured.
    const historyOf = async ({ workflowId, runId }) =>
      JSON.parse(JSON.stringify(await floor.client.workflow.getHandle(workflowId, runId).fetchHistory())).events;
    const stagesOf = async (runs, withApi) => {
      const stages = [];
      for (const r of runs) {
        const line = accessLines.get(r.requestId);
        if (withApi && !line) throw new Error(`no access line for request ${r.requestId}`);
        const s = hitStages({ ...r, api: withApi ? apiTimes(line) : undefined, events: await historyOf(r) });
        if (s) stages.push(s);
      }
      return stages;
    };
    const oursStages = await stagesOf(oursRuns, true);
    const floorStages = await stagesOf(floorRuns, false);
    const rows = tableRows(oursStages, floorStages);
    rows.push(
      {
        stage: 'reference: one API key lookup (the auth query) from this process',
        ...(await referenceQuery(
          stack,
          'SELECT id FROM api_keys LIMIT 1',
          'SELECT * FROM api_keys WHERE id = $1',
          (r) => [r[0].id],
        )),
      },
      {
        // A hit's publish commits its events before the answer leaves: a committed insert is that part's floor.
        stage: 'reference: one committed INSERT (a single-row transaction) from this process',
        ...(await referenceQuery(
          stack,
          'CREATE TEMP TABLE bench_commit (id serial PRIMARY KEY, payload jsonb)',
          `INSERT INTO bench_commit (payload) VALUES ('{"type": "cache.hit"}')`,
          () => [],
        )),
      },
    );
    for (const [key] of ROWS.filter(([key]) => !key.includes('*'))) {
      const o = oursStages.map((s) => s[key]).filter((v) => v !== undefined);
      const f = floorStages.map((s) => s[key]).filter((v) => v !== undefined);
      if (o.length) figures[`breakdown.ours.${key}.p50_ms`] = { value: p50(o), better: 'lower' };
      if (f.length) figures[`breakdown.floor.${key}.p50_ms`] = { value: p50(f), better: 'lower' };
    }
    const left = oursRuns.length - oursStages.length + floorRuns.length - floorStages.length;
    return {
      title: `Cache hit, stage by stage: ours (POST /api/v1/functions/enhance) ${oursStages.length} hits, the floor's hit shape ${floorStages.length} runs, same dev server, one at a time, alternating blocks of ${BLOCK}${left ? `; ${left} answered after their first workflow task left out` : ''}`,
      rows,
    };
  } finally {
    await floor.stop();
  }
}

/**
 * p50 of `query` run LOOKUPS times on one connection of the stack's schema from this process, after `setup` (whose
 * rows give the query's parameters): the PostgreSQL part of a stage, measured beside it.
 */
async function referenceQuery(stack, setup, query, params) {
  const { createPool } = require(path.join(__dirname, '..', 'dist', 'infra', 'db', 'pool'));
  const pool = createPool({ url: stack.env.DATABASE_URL, schema: stack.env.DATABASE_SCHEMA, max: 1 });
  try {
    const { rows } = await pool.query(setup);
    const times = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const started = performance.now();
      await pool.query(query, params(rows));
      times.push(performance.now() - started);
    }
    const p = percentiles(times).p50;
    return {
      'ours p50 ms': p,
      'floor p50 ms': '',
      'ours − floor ms': '',
      'ours mean ms': mean(times),
      'floor mean ms': '',
    };
  } finally {
    await pool.end();
  }
}

module.exports = { name: 'hit-breakdown', stack: { apiLog: onApiLog }, run };
