import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';
import { localActivityOf } from '../helpers/history';
import { waitFor } from '../helpers/net';

const fn = (name: string) => ({
  function_name: name,
  original_code: `def ${name}(x: int) -> int:\n    return x - 1\n`,
});

describe('PostgreSQL connections killed mid-run', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('pgdown');
  });
  afterAll(() => stack.close());

  test('activities retry until PostgreSQL answers again: every run completes and nothing is lost', async () => {
    // The worker's pool: the activities' connections (the API needs PostgreSQL for API keys; it is not under test here).
    const appName = `poet-worker:${stack.config.DATABASE_SCHEMA}`;
    const killer = await stack.pool.connect();
    const terminate = async () => {
      const res = await killer.query(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [appName],
      );
      return res.rows[0].n as number;
    };

    const names = Array.from({ length: 4 }, (_, i) => `pg${i}_${uniqueSuffix()}`);
    let terminated = 0;
    let stop = false;
    // Runs are quicker than any storm: a lock on the versions table holds each one inside storeVersion's transaction,
    // so the storm is sure to kill backends mid-query, not only idle ones.
    const locker = await stack.pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE versions IN EXCLUSIVE MODE');
    const blocked = async () =>
      (
        await killer.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [appName],
        )
      ).rows[0].n as number;
    let chaos: Promise<void> | undefined;
    let workflowIds: string[];
    try {
      const started = await Promise.all(
        names.map((name) => postJson(`${stack.url}/api/v1/functions/enhance`, fn(name), { prefer: 'respond-async' })),
      );
      expect(started.map((s) => s.status)).toEqual([202, 202, 202, 202]);
      workflowIds = started.map((s) => s.body.run.workflow_id);
      await waitFor(async () => (await blocked()) > 0, 20_000, 'a run waiting inside storeVersion');
      // Terminate every backend of the worker's pool, again and again, while the runs store and publish.
      chaos = (async () => {
        while (!stop) {
          terminated += await terminate();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await waitFor(async () => terminated >= 4, 20_000, 'backends terminated mid-run');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      await locker.query('COMMIT');
      locker.release();
      stop = true;
      await chaos;
      killer.release();
    }

    for (const id of workflowIds) {
      await waitFor(
        async () => (await getJson(`${stack.url}/api/v1/runs/${id}`)).body.status === 'completed',
        40_000,
        `${id} completed`,
      );
      expect((await getJson(`${stack.url}/api/v1/runs/${id}`)).body.result.version).toBe(1);
    }
    // The storm reached the runs: some persistence activity (regular, or local: its marker holds the attempt that
    // completed) needed more than one attempt.
    const attempts = await Promise.all(
      workflowIds.map(async (id) => {
        const history = await stack.client.workflow.getHandle(id).fetchHistory();
        return Math.max(
          ...(history.events ?? []).map(
            (e) => localActivityOf(e)?.attempt ?? e.activityTaskStartedEventAttributes?.attempt ?? 1,
          ),
        );
      }),
    );
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    const versions = await stack.pool.query(
      'SELECT function_name, version, status FROM versions ORDER BY function_name',
    );
    expect(versions.rows).toEqual(names.sort().map((name) => ({ function_name: name, version: 1, status: 'active' })));
    const events = await stack.pool.query(
      `SELECT function_name, array_agg(event_type ORDER BY event_type) AS types FROM events GROUP BY function_name ORDER BY function_name`,
    );
    expect(events.rows).toEqual(
      names.map((name) => ({
        function_name: name,
        types: ['enhancement.completed', 'enhancement.started', 'version.created'],
      })),
    );
  });
});
