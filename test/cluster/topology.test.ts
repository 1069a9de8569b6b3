import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/definitions/search-attributes';
import { waitFor } from '../helpers/net';
import { getJson, postJson, uniqueSuffix } from '../helpers/stack';
import { clusterEnv, clusterScript } from '../helpers/topology';

// Runs only under `npm run test:cluster`, whose global setup brought scripts/cluster.sh's cluster up.
describe('scripts/cluster.sh: the production topology on one machine', () => {
  const env = clusterEnv();
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: env.POET_CLUSTER_TEMPORAL_ADDRESS! });
  });
  afterAll(async () => {
    await connection.close();
  });

  test('up is idempotent and status names every component', () => {
    clusterScript('up');
    expect(clusterScript('status')).toMatch(/temporal running[\s\S]*service running[\s\S]*api ready/);
  });

  test('the full server (not the dev server) answers, with our search attributes on the default namespace', async () => {
    const info = await connection.workflowService.getSystemInfo({});
    expect(info.serverVersion).toBe('1.29.1');
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(SEARCH_ATTRIBUTE_NAMES));
  });

  test('two worker processes poll the task queue and the API serves an enhancement through them', async () => {
    const pollers = async () =>
      (
        await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: 'poet-enhance' },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        })
      ).pollers ?? [];
    await waitFor(
      async () => new Set((await pollers()).map((p) => p.identity)).size >= 2,
      30_000,
      'two workflow pollers',
    );
    const name = `cluster_${uniqueSuffix()}`;
    const res = await postJson(
      `${env.POET_CLUSTER_API_URL}/api/v1/functions/enhance`,
      { function_name: name, original_code: `def ${name}(x: int) -> int:\n    return x + 1\n` },
      { authorization: '' },
    );
    const run =
      res.status === 200 ? res : await waitForCompleted(`${env.POET_CLUSTER_API_URL}${res.headers.get('location')}`);
    expect(run.body.result ?? run.body).toMatchObject({ function_name: name, version: 1 });
  }, 120_000);
});

async function waitForCompleted(url: string) {
  let last = await getJson(url, { authorization: '' });
  await waitFor(
    async () => {
      last = await getJson(url, { authorization: '' });
      return last.body.status === 'completed';
    },
    90_000,
    `${url} completed`,
    500,
  );
  return last;
}
