import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/definitions/search-attributes';
import { waitFor } from '../helpers/net';
import { getJson, postJson, uniqueSuffix } from '../helpers/stack';
import { ended } from '../helpers/processes';
import { CLUSTER_TEMPORAL_SERVICES, clusterEnv, clusterScript, clusterTemporalPids } from '../helpers/topology';

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

  test('up is idempotent and status names every component, each Temporal service a process of its own', () => {
    clusterScript('up');
    const pids = clusterTemporalPids();
    expect(Object.keys(pids)).toEqual(CLUSTER_TEMPORAL_SERVICES);
    expect(clusterScript('status')).toMatch(
      new RegExp(
        [
          ...CLUSTER_TEMPORAL_SERVICES.map((s) => `temporal-${s} running \\(pid ${pids[s]}\\)`),
          'service running \\(pid \\d+\\)',
          'api ready',
        ].join('\n'),
      ),
    );
    for (const service of CLUSTER_TEMPORAL_SERVICES) {
      const argv = readFileSync(`/proc/${pids[service]}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(-3, -1)).toEqual(['--service', service]);
    }
  });

  test('up starts a Temporal service killed with SIGKILL again, and only that one', async () => {
    const before = clusterTemporalPids();
    process.kill(before.worker!, 'SIGKILL');
    await waitFor(async () => ended(before.worker!), 10_000, "Temporal's worker service gone");
    clusterScript('up', '--temporal-only');
    const after = clusterTemporalPids();
    expect(after.worker).not.toBe(before.worker);
    expect(ended(after.worker!)).toBe(false);
    expect({ ...after, worker: 0 }).toEqual({ ...before, worker: 0 });
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
