import { freePort, waitFor } from '../helpers/net';
import { spawnService, type ServiceProcess } from '../helpers/processes';
import { getJson, postJson, startStack, uniqueSuffix, versionCounts, type TestStack } from '../helpers/stack';

const RUNS = 20;

// Validation calls the function on each sample in the original and in the enhanced code: the sleeps keep runs in flight.
const slow = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    import time\n    time.sleep(0.3)\n    return x - 1\n`,
  context: { samples: [[1], [5]] },
});

describe('worker killed with SIGKILL mid-run', () => {
  let stack: TestStack;
  const workers: ServiceProcess[] = [];

  /** A worker process on the stack's task queue, schema, Redis prefix and data dir; resolves once it is ready. */
  async function startWorkerProcess(): Promise<ServiceProcess> {
    const port = await freePort();
    const { config } = stack;
    const worker = spawnService('worker', {
      DATABASE_SCHEMA: config.DATABASE_SCHEMA,
      REDIS_PREFIX: config.REDIS_PREFIX,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      DATA_DIR: config.DATA_DIR,
      WORKER_HTTP_HOST: '127.0.0.1',
      WORKER_HTTP_PORT: String(port),
    });
    workers.push(worker);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 200,
      30_000,
      `worker process ready\n${worker.output()}`,
      200,
    );
    return worker;
  }

  beforeAll(async () => {
    stack = await startStack('workerkill');
    // Only worker processes of this test poll the task queue.
    await stack.worker.shutdown();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await stack.close();
  });

  test(`${RUNS} runs: each completes after a new worker starts, with exactly one version and no duplicate events`, async () => {
    const doomed = await startWorkerProcess();
    const names = Array.from({ length: RUNS }, () => `killed_${uniqueSuffix()}`);
    const accepted = await Promise.all(
      names.map((name) => postJson(`${stack.url}/api/v1/functions/enhance`, slow(name), { prefer: 'respond-async' })),
    );
    expect(accepted.every((res) => res.status === 202)).toBe(true);
    const locations = accepted.map((res) => `${stack.url}${res.headers.get('location')}`);

    const versions = () => versionCounts(stack.pool, names);
    await waitFor(async () => (await versions()).length > 0, 60_000, 'a first version stored', 50);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const doneBeforeKill = (await versions()).length;
    // Otherwise the kill proved nothing.
    expect(doneBeforeKill).toBeLessThan(RUNS);

    await startWorkerProcess();
    await waitFor(
      async () =>
        (await Promise.all(locations.map((url) => getJson(url)))).every((res) => res.body.status === 'completed'),
      150_000,
      'every run completed on the new worker',
      500,
    );
    for (const [i, url] of locations.entries())
      expect((await getJson(url)).body.result).toMatchObject({ function_name: names[i], version: 1 });
    expect((await versions()).map((row) => row.n)).toEqual(Array(RUNS).fill(1));

    const events = await stack.pool.query(
      `SELECT function_name, event_type, count(*)::int AS n FROM events WHERE function_name = ANY($1) GROUP BY 1, 2`,
      [names],
    );
    const perType = (type: string) => events.rows.filter((row) => row.event_type === type);
    for (const type of ['version.created', 'enhancement.completed']) {
      expect(perType(type)).toHaveLength(RUNS);
      expect(perType(type).every((row) => row.n === 1)).toBe(true);
    }
  }, 240_000);
});
