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

  // Whether the others keep their pids is not asserted: temporal-restart.test.ts, beside this file, may restart them.
  test('up starts a Temporal service killed with SIGKILL again', async () => {
    const before = clusterTemporalPids();
    process.kill(before.worker!, 'SIGKILL');
    await waitFor(async () => ended(before.worker!), 10_000, "Temporal's worker service gone");
    clusterScript('up', '--temporal-only');
    const after = clusterTemporalPids();
    expect(Object.keys(after)).toEqual(CLUSTER_TEMPORAL_SERVICES);
    expect(after.worker).not.toBe(before.worker);
    for (const pid of Object.values(after)) expect(ended(pid)).toBe(false);
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
      // Temporal may be down a while (temporal-restart.test.ts runs beside this file): no answer is not ready yet.
      async () => new Set((await pollers().catch(() => [])).map((p) => p.identity)).size >= 2,
      60_000,
      'two workflow pollers',
    );
    const name = `cluster_${uniqueSuffix()}`;
    const enhance = () =>
      postJson(
        `${env.POET_CLUSTER_API_URL}/api/v1/functions/enhance`,
        { function_name: name, original_code: `def ${name}(x: int) -> int:\n    return x + 1\n` },
        { authorization: '' },
      );
    // temporal-restart.test.ts runs beside this file and kills the cluster's Temporal for a while: the API answers 503
    // with Retry-After meanwhile, and a client sends again.
    let res = await enhance();
    await waitFor(
      async () => {
        if (res.status !== 503) return true;
        res = await enhance();
        return false;
      },
      90_000,
      'an answer other than 503',
      1_000,
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
