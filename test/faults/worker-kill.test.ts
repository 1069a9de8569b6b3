import { temporal } from '@temporalio/proto';
import { freePort, waitFor } from '../helpers/net';
import { spawnService, type ServiceProcess } from '../helpers/processes';
import { getJson, postJson, startStack, uniqueSuffix, versionCounts, type TestStack } from '../helpers/stack';

const KILLS = 20;
const { PendingActivityState, EventType } = temporal.api.enums.v1;

// Validation calls the function on each sample in the original and in the enhanced code: the sleeps keep the validate
// activity in flight long enough to kill the worker that runs it.
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

  /** The validate attempts the run's history records as started (the last one, once it completed). */
  async function validateAttempts(workflowId: string): Promise<number> {
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Set(
      (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'validate')
        .map((e) => String(e.eventId)),
    );
    return Math.max(
      0,
      ...(history.events ?? [])
        .filter(
          (e) =>
            e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
            scheduled.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)),
        )
        .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0),
    );
  }

  test(`${KILLS} kills, each of the worker running a run's validation: every run completes once, on a later worker`, async () => {
    const names: string[] = [];
    const locations: string[] = [];
    const workflowIds: string[] = [];
    let current = await startWorkerProcess();
    for (let kill = 0; kill < KILLS; kill++) {
      // The next worker starts while this one works, so the run moves on as soon as its attempt times out.
      const next = startWorkerProcess();
      const name = `killed_${uniqueSuffix()}`;
      const accepted = await postJson(`${stack.url}/api/v1/functions/enhance`, slow(name), {
        prefer: 'respond-async',
      });
      expect(accepted.status).toBe(202);
      names.push(name);
      const location = `${stack.url}${accepted.headers.get('location')}`;
      locations.push(location);
      const workflowId = accepted.body.run.workflow_id as string;
      workflowIds.push(workflowId);
      const handle = stack.client.workflow.getHandle(workflowId);
      await waitFor(
        async () => {
          const { raw } = await handle.describe();
          return (raw.pendingActivities ?? []).some(
            (a) =>
              a.activityType?.name === 'validate' &&
              a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
              a.lastWorkerIdentity?.startsWith(`${current.child.pid}@`),
          );
        },
        60_000,
        `run ${kill + 1}'s validation started on the worker to kill`,
        50,
      );
      current.child.kill('SIGKILL');
      await current.exited;
      current = await next;
      // One kill per run: the next run starts once this one is done, so no run meets the validate retry limit.
      await waitFor(
        async () => (await getJson(location)).body.status === 'completed',
        90_000,
        `run ${kill + 1} completed after its worker was killed`,
        200,
      );
    }

    for (const [i, url] of locations.entries())
      expect((await getJson(url)).body.result).toMatchObject({ function_name: names[i], version: 1 });
    // Each run's validation was started again after the kill, so each kill interrupted a run.
    for (const workflowId of workflowIds) expect(await validateAttempts(workflowId)).toBeGreaterThanOrEqual(2);
    expect((await versionCounts(stack.pool, names)).map((row) => row.n)).toEqual(Array(KILLS).fill(1));

    const events = await stack.pool.query(
      `SELECT function_name, event_type, count(*)::int AS n FROM events WHERE function_name = ANY($1) GROUP BY 1, 2`,
      [names],
    );
    const perType = (type: string) => events.rows.filter((row) => row.event_type === type);
    for (const type of ['version.created', 'enhancement.completed']) {
      expect(perType(type)).toHaveLength(KILLS);
      expect(perType(type).every((row) => row.n === 1)).toBe(true);
    }
  }, 600_000);
});
