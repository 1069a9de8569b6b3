import { Client, Connection } from '@temporalio/client';
import { poet } from '../helpers/cli';
import { freePort } from '../helpers/net';
import { uniqueSuffix } from '../helpers/stack';

/** The built `poet schedules apply` against the test dev server: idempotent, and it follows the configuration. */
describe('poet schedules apply', () => {
  let connection: Connection;
  let client: Client;
  const scheduleId = `reevaluate-cli-${uniqueSuffix()}`;
  const env = (over: Record<string, string> = {}) => ({
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
    TEMPORAL_TASK_QUEUE: `poet-test-cli-${scheduleId}`,
    REEVALUATION_SCHEDULE_ID: scheduleId,
    REEVALUATION_CRON: '0 3 * * *',
    REEVALUATION_JITTER: '1m',
    ...over,
  });

  beforeAll(async () => {
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    await connection.close();
  });

  const apply = async (over: Record<string, string> = {}) => {
    const run = await poet(['schedules', 'apply', '--json'], env(over));
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as { schedules: { id: string; outcome: string }[] };
  };

  test('run twice makes one schedule; a changed cron updates it and a pause survives the update', async () => {
    expect(await apply()).toEqual({ schedules: [{ id: scheduleId, outcome: 'created' }] });
    const created = await client.schedule.getHandle(scheduleId).describe();
    expect(created.action).toMatchObject({ workflowType: 'reevaluateFunctions', taskQueue: env().TEMPORAL_TASK_QUEUE });
    expect(created.spec.jitter).toBe(60_000);
    expect(created.policies.overlap).toBe('SKIP');

    expect(await apply()).toEqual({ schedules: [{ id: scheduleId, outcome: 'unchanged' }] });
    const again = await client.schedule.getHandle(scheduleId).describe();
    expect(again.info.createdAt).toEqual(created.info.createdAt);
    expect(again.info.lastUpdatedAt).toEqual(created.info.lastUpdatedAt);

    await client.schedule.getHandle(scheduleId).pause('held by an operator');
    expect(await apply({ REEVALUATION_CRON: '30 4 * * *', REEVALUATION_JITTER: '2m' })).toEqual({
      schedules: [{ id: scheduleId, outcome: 'updated' }],
    });
    const updated = await client.schedule.getHandle(scheduleId).describe();
    expect(updated.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 4, end: 4, step: 1 }],
      minute: [{ start: 30, end: 30, step: 1 }],
    });
    expect(updated.spec.jitter).toBe(120_000);
    expect(updated.state).toMatchObject({ paused: true, note: 'held by an operator' });
    expect(await apply({ REEVALUATION_CRON: '30 4 * * *', REEVALUATION_JITTER: '2m' })).toEqual({
      schedules: [{ id: scheduleId, outcome: 'unchanged' }],
    });
  });

  test('without --json it says what it did; an unreachable Temporal or a bad setting is a non-zero exit', async () => {
    const plain = await poet(['schedules', 'apply'], env());
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^${scheduleId}: (created|unchanged|updated) \\(cron `));

    const down = await poet(
      ['schedules', 'apply', '--json'],
      env({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` }),
    );
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/^poet: /);
    const bad = await poet(['schedules', 'apply'], env({ REEVALUATION_JITTER: 'soon' }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('REEVALUATION_JITTER');
  });
});
