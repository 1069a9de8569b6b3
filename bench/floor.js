'use strict';
// Benchmark: the floor under the hit-latency target. The Temporal dev server as the stack runs it and one worker
// and client of the same SDK in this process, running workflows that do nothing: a bare workflow (start, then its
// result) and the cache hit's shape (update-with-start answered after two local activities, a third after the
// answer), every activity a no-op; and the miss's shape, whose two activities only wait as long as the model and the
// validation take (200 ms, as in the overhead benchmark, and 45 ms), against the same waits in-process: the lowest
// ratio the overhead benchmark could show here; that shape with a 1 s model, 100 in flight, as the scale benchmark;
// and the hit's shape 50 in flight, as the cpu benchmark's hits under load. No API, PostgreSQL, Redis or codec: what
// any run pays here. On a cluster (`--topology cluster`) the same runs go to the cluster's Temporal instead of a dev
// server of their own, and its server processes' CPU is counted.

const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateStage } = require('@temporalio/client');
const { NativeConnection, Runtime, Worker, bundleWorkflowCode, DefaultLogger } = require('@temporalio/worker');
const { cpuSeconds } = require('./lib/cpu');
const { startBenchDevServer } = require('./lib/stack');
const { clusterTemporal } = require('./lib/topology');
const { percentiles } = require('./lib/stats');

const N = Number(process.env.BENCH_FLOOR_N ?? 200);
const MISS_N = 30;
// Quick runs (`--quick`) only show the code path works: a few runs of each shape.
const QUICK = { n: 20, missN: 5, inFlightTotal: 100 };
const LLM_MS = 200;
const VALIDATE_MS = 45;
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const WARM_UP = 30;

/** CPU seconds so far of this process (worker and client) and of the Temporal server's processes. */
function cpuNow(serverPids) {
  const { user, system } = process.cpuUsage();
  return serverPids.reduce(
    (sum, pid) => {
      const server = cpuSeconds(pid);
      return sum + server.self + server.children;
    },
    (user + system) / 1e6,
  );
}

async function measure(label, once, { n, serverPids }) {
  for (let i = 0; i < Math.min(WARM_UP, n); i++) await once();
  const times = [];
  const cpuBefore = cpuNow(serverPids);
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  const cpuMs = Math.round(((cpuNow(serverPids) - cpuBefore) * 1000 * 10) / n) / 10;
  const p = percentiles(times);
  return {
    shape: label,
    runs: p.n,
    'p50 ms': p.p50,
    'p95 ms': p.p95,
    'p99 ms': p.p99,
    'CPU ms per run (worker, client, Temporal)': cpuMs,
  };
}

/** `total` runs, `concurrency` in flight at any time (as the scale benchmark's connections): latency, throughput, CPU. */
async function measureInFlight(label, once, { concurrency, total, serverPids }) {
  const times = [];
  let next = 0;
  const cpuBefore = cpuNow(serverPids);
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
  const cpuMs = Math.round(((cpuNow(serverPids) - cpuBefore) * 1000 * 10) / total) / 10;
  const p = percentiles(times);
  const perSecond = Math.round((total / seconds) * 10) / 10;
  return {
    shape: `${label} (${concurrency} in flight, ${perSecond}/s)`,
    runs: p.n,
    'p50 ms': p.p50,
    'p95 ms': p.p95,
    'p99 ms': p.p99,
    'CPU ms per run (worker, client, Temporal)': cpuMs,
    perSecond,
  };
}

/** The dev server of the benchmark's own, or the cluster's Temporal: its address, namespace and server pids. */
async function temporalFor(topology, dataDir) {
  if (topology === 'cluster') {
    const cluster = clusterTemporal();
    return {
      address: cluster.env.TEMPORAL_ADDRESS,
      namespace: cluster.env.TEMPORAL_NAMESPACE ?? 'default',
      serverPids: cluster.serverPids,
      stop: async () => {},
    };
  }
  const server = await startBenchDevServer(dataDir, []);
  return { address: server.address, namespace: 'default', serverPids: [server.child.pid], stop: () => server.stop() };
}

async function run({ figures, quick, topology }) {
  const n = quick ? QUICK.n : N;
  const missN = quick ? QUICK.missN : MISS_N;
  const inFlightTotal = quick ? QUICK.inFlightTotal : 300;
  const { mkdtempSync, rmSync } = require('node:fs');
  const os = require('node:os');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'poet-floor-'));
  const server = await temporalFor(topology, dataDir);
  const taskQueue = `floor-${randomUUID()}`;
  try {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('./lib/floor-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: { code },
      activities: { noop: async () => undefined, sleep: wait },
    });
    const running = worker.run();
    const client = new Client({
      connection: await Connection.connect({ address: server.address }),
      namespace: server.namespace,
    });
    // Eager start hands the first workflow task to a worker on the starter's own connection, skipping matching.
    const sameConnection = new Client({ connection: nativeConnection, namespace: server.namespace });
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
    const { serverPids } = server;
    const bare = await measure('bare: start, then result', () => client.workflow.execute('bare', options()), {
      n,
      serverPids,
    });
    const eager = await measure(
      "bare, eager start (client on the worker's connection)",
      () => sameConnection.workflow.execute('bare', { ...options(), requestEagerStart: true }),
      { n, serverPids },
    );
    const hit = await measure(
      'hit shape: update-with-start, 2 local activities, answer, 1 more',
      () => updateWithStart('hitShape', []),
      { n, serverPids },
    );
    const hitLoaded = await measureInFlight(
      'hit shape, as the cpu benchmark loads hits',
      () => updateWithStart('hitShape', []),
      { concurrency: 50, total: inFlightTotal, serverPids },
    );
    const miss = await measure(
      `miss shape: 2 local, activities waiting ${LLM_MS} and ${VALIDATE_MS} ms, 2 local at once, 1 more, answer`,
      () => updateWithStart('missShape', [LLM_MS, VALIDATE_MS]),
      { n: missN, serverPids },
    );
    const missLoaded = await measureInFlight(
      'miss shape, the model waiting 1 s as in the scale benchmark',
      () => updateWithStart('missShape', [1000, VALIDATE_MS]),
      { concurrency: 100, total: inFlightTotal, serverPids },
    );
    const inProcess = await measure(
      `the miss's waits in-process (${LLM_MS} + ${VALIDATE_MS} ms)`,
      () => wait(LLM_MS).then(() => wait(VALIDATE_MS)),
      { n: missN, serverPids },
    );
    worker.shutdown();
    await running;
    const CPU = 'CPU ms per run (worker, client, Temporal)';
    const lower = (value) => ({ value, better: 'lower' });
    figures['floor.bare.p50_ms'] = lower(bare['p50 ms']);
    figures['floor.bare_eager.p50_ms'] = lower(eager['p50 ms']);
    figures['floor.hit_shape.p50_ms'] = lower(hit['p50 ms']);
    figures['floor.hit_shape.p99_ms'] = lower(hit['p99 ms']);
    figures['floor.hit_shape_50.cpu_ms'] = lower(hitLoaded[CPU]);
    const ratio = Math.round((miss['p50 ms'] / inProcess['p50 ms']) * 1000) / 1000;
    figures['floor.miss_ratio_of_medians'] = lower(ratio);
    figures['floor.miss_shape_100.p95_ms'] = lower(missLoaded['p95 ms']);
    figures['floor.miss_shape_100.throughput_per_s'] = { value: missLoaded.perSecond, better: 'higher' };
    figures['floor.miss_shape_100.cpu_ms'] = lower(missLoaded[CPU]);
    const rows = [bare, eager, hit, hitLoaded, miss, missLoaded, inProcess].map(({ perSecond, ...row }) => row);
    return {
      title: `Floor: workflows that do nothing, same SDK and Temporal (${topology === 'cluster' ? 'the cluster' : 'a dev server'}), worker and client in one process; miss shape / in-process = ${ratio}`,
      rows,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

module.exports = { name: 'floor', stack: false, run };
