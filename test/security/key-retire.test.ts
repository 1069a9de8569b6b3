import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { newKeyEntry, parseKeyRing } from '../../src/infra/crypto/key-ring';
import { createLogger } from '../../src/infra/observability/logger';
import { TemporalKeyUsage } from '../../src/infra/temporal/key-usage';
import { startWorker, type RunningWorker } from '../../src/worker/worker';
import { poet } from '../helpers/cli';
import { startStack, type TestStack, uniqueSuffix, until } from '../helpers/stack';

/**
 * `poet keys retire` refuses while Temporal still holds payloads under the key: the schedule's stored action
 * (encrypted when the worker applied it) and an open run's history. Rotation re-encrypts the schedule.
 */
const KEY_A = newKeyEntry('a');
const KEY_B = newKeyEntry('b');
let stack: TestStack;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  stack = await startStack('key_retire', { ENCRYPTION_KEYS: KEY_A });
});
afterAll(async () => {
  await worker?.shutdown();
  await stack.close();
});

const cli = (args: string[]) =>
  poet(args, {
    DATABASE_URL: process.env.DATABASE_URL!,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
    DATABASE_SCHEMA: stack.config.DATABASE_SCHEMA,
    TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
    ENCRYPTION_KEYS: `${KEY_A},${KEY_B}`,
    ENCRYPTION_ACTIVE_KEY: 'b',
  });

test('retire refuses naming the schedule and the open run under the key; after rotation and the run, it agrees', async () => {
  const scheduleId = stack.config.reevaluationScheduleId;
  const usage = new TemporalKeyUsage(stack.client, stack.config.TEMPORAL_TASK_QUEUE);
  expect(await usage.scheduleKeys(scheduleId)).toEqual(new Set(['a']));
  // An open run whose input is under a: its start is delayed, so it stays open without a worker touching it.
  const open = await stack.client.workflow.start(WORKFLOW_TYPES.reevaluate, {
    workflowId: `open-under-a-${uniqueSuffix()}`,
    taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
    args: [{ concurrency: 1 }],
    startDelay: '1 hour',
  });

  const refused = await cli(['keys', 'retire', 'a']);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toContain(`the stored action of schedule ${scheduleId}`);
  expect(refused.stderr).toContain(`the history of 1 open run: ${open.workflowId}`);
  expect(refused.stderr).not.toContain('stored payload');

  // The workers move to ring a+b with b active (not re-applying the schedule themselves); rotation re-encrypts it.
  await stack.worker.shutdown();
  const configAB = {
    ...stack.config,
    encryption: parseKeyRing(`${KEY_A},${KEY_B}`, 'b'),
    REEVALUATION_SCHEDULE_APPLY: false,
  };
  worker = await startWorker(configAB, createLogger({ level: 'error', service: 'test-key-retire', silent: true }));
  expect(await usage.scheduleKeys(scheduleId)).toEqual(new Set(['a']));
  const rotated = await cli(['keys', 'rotate-data', '--page-size', '10']);
  expect(rotated.code).toBe(0);
  expect(rotated.stderr).toContain(`schedules re-encrypted under key b: ${scheduleId}`);
  expect(await usage.scheduleKeys(scheduleId)).toEqual(new Set(['b']));

  const stillOpen = await cli(['keys', 'retire', 'a']);
  expect(stillOpen.code).toBe(3);
  expect(stillOpen.stderr).toContain(open.workflowId);
  expect(stillOpen.stderr).not.toContain('schedule');

  await open.terminate('test: the run under key a ends');
  // Retire finds open runs through visibility, which follows the run's end a moment later.
  await until('visibility shows the run closed', async () =>
    (await stack.client.workflow.count(`WorkflowId = "${open.workflowId}" AND ExecutionStatus = "Running"`)).count === 0
      ? true
      : undefined,
  );
  const retired = await cli(['keys', 'retire', 'a']);
  expect(retired.stderr).toBe('');
  expect(retired.code).toBe(0);
  expect(retired.stdout).toContain("no schedule's action and no open run's history");
}, 180_000);
