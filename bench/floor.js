'use strict';
// Benchmark: the floor under the hit-latency target. The Temporal dev server as the stack runs it and one worker
// and client of the same SDK in this process, running workflows that do nothing: a bare workflow (start, then its
// result) and the cache hit's shape (update-with-start answered after two local activities, a third after the
// answer), every activity a no-op; and the miss's shape, whose two activities only wait as long as the model and the
// validation take (200 ms, as in the overhead benchmark, and 45 ms), against the same waits in-process: the lowest
// ratio the overhead benchmark could show here; and that shape with a 1 s model, 100 in flight, as the scale benchmark. No API, PostgreSQL, Redis or codec: what any run pays here.
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateStage } = require('@temporalio/client');
const { NativeConnection, Runtime, Worker, bundleWorkflowCode, DefaultLogger } = require('@temporalio/worker');
const { cpuSeconds } = require('./lib/cpu');
const { startBenchDevServer } = require('./lib/stack');
const { percentiles } = require('./lib/stats');

const N = Number(process.env.BENCH_FLOOR_N ?? 200);
const MISS_N = 30;
const LLM_MS = 200;
const VALIDATE_MS = 45;
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const WARM_UP = 30;

/** CPU seconds so far of this process (worker and client) and of the dev server. */
function cpuNow(serverPid) {
  const { user, system } = process.cpuUsage();
  const server = cpuSeconds(serverPid);
  return (user + system) / 1e6 + server.self + server.children;
}

async function measure(label, once, { n = N, serverPid }) {
  for (let i = 0; i < Math.min(WARM_UP, n); i++) await once();
  const times = [];
  const cpuBefore = cpuNow(serverPid);
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  const cpuMs = Math.round(((cpuNow(serverPid) - cpuBefore) * 1000 * 10) / n) / 10;
  const p = percentiles(times);
  return {
    shape: label,
    runs: p.n,
    'p50 ms': p.p50,
    'p95 ms': p.p95,
    'p99 ms': p.p99,
    'CPU ms per run (worker, client, dev server)': cpuMs,
  };
}

/** `total` runs, `concurrency` in flight at any time (as the scale benchmark's connections): latency, throughput, CPU. */
async function measureInFlight(label, once, { concurrency, total, serverPid }) {
  const times = [];
  let next = 0;
  const cpuBefore = cpuNow(serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const t = performance.now();
        await once();
        times.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = Math.round(((cpuNow(serverPid) - cpuBefore) * 1000 * 10) / total) / 10;
  const p = percentiles(times);
  return {
    shape: `${label} (${concurrency} in flight, ${Math.round((total / seconds) * 10) / 10}/s)`,
    runs: p.n,
    'p50 ms': p.p50,
    'p95 ms': p.p95,
    'p99 ms': p.p99,
    'CPU ms per run (worker, client, dev server)': cpuMs,
  };
}

async function run({ figures }) {
  const { mkdtempSync, rmSync } = require('node:fs');
  const os = require('node:os');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-floor-'));
  const server = await startBenchDevServer(dataDir, []);
  const taskQueue = `floor-${randomUUID()}`;
  try {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('./lib/floor-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { code },
      activities: { noop: async () => undefined, sleep: wait },
    });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    // Eager start hands the first workflow task to a worker on the starter's own connection, skipping matching.
    const sameConnection = new Client({ connection: nativeConnection });
    const options = () => ({ taskQueue, workflowId: randomUUID() });
    const updateWithStart = async (workflowType, args) => {
      const handle = await client.workflow.startUpdateWithStart('result', {
        startWorkflowOperation: new WithStartWorkflowOperation(workflowType, {
          ...options(),
          args,
          workflowIdConflictPolicy: 'FAIL',
        }),
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      return handle.result();
    };
    const serverPid = server.child.pid;
    const rows = [
      await measure('bare: start, then result', () => client.workflow.execute('bare', options()), { serverPid }),
      await measure(
        "bare, eager start (client on the worker's connection)",
        () => sameConnection.workflow.execute('bare', { ...options(), requestEagerStart: true }),
        { serverPid },
      ),
      await measure(
        'hit shape: update-with-start, 2 local activities, answer, 1 more',
        () => updateWithStart('hitShape', []),
        { serverPid },
      ),
      await measure(
        `miss shape: 2 local, activities waiting ${LLM_MS} and ${VALIDATE_MS} ms, 2 local at once, 1 more, answer`,
        () => updateWithStart('missShape', [LLM_MS, VALIDATE_MS]),
        { n: MISS_N, serverPid },
      ),
      await measureInFlight(
        'miss shape, the model waiting 1 s as in the scale benchmark',
        () => updateWithStart('missShape', [1000, VALIDATE_MS]),
        {
          concurrency: 100,
          total: 300,
          serverPid,
        },
      ),
      await measure(
        `the miss's waits in-process (${LLM_MS} + ${VALIDATE_MS} ms)`,
        () => wait(LLM_MS).then(() => wait(VALIDATE_MS)),
        {
          n: MISS_N,
          serverPid,
        },
      ),
    ];
    worker.shutdown();
    await running;
    figures['floor.bare.p50_ms'] = { value: rows[0]['p50 ms'], better: 'lower' };
    figures['floor.bare_eager.p50_ms'] = { value: rows[1]['p50 ms'], better: 'lower' };
    figures['floor.hit_shape.p50_ms'] = { value: rows[2]['p50 ms'], better: 'lower' };
    const ratio = Math.round((rows[3]['p50 ms'] / rows[5]['p50 ms']) * 1000) / 1000;
    figures['floor.miss_ratio_of_medians'] = { value: ratio, better: 'lower' };
    figures['floor.miss_shape_100.p95_ms'] = { value: rows[4]['p95 ms'], better: 'lower' };
    figures['floor.miss_shape_100.cpu_ms'] = {
      value: rows[4]['CPU ms per run (worker, client, dev server)'],
      better: 'lower',
    };
    return {
      title: `Floor: workflows that do nothing, same SDK and dev server, worker and client in one process (concurrency 1); miss shape / in-process = ${ratio}`,
      rows,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

module.exports = { name: 'floor', stack: false, run };
