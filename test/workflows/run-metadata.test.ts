import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config';
import { REEVALUATION_DETAILS, rotationDetails } from '../../src/definitions/run-details';
import { OutcomeKey, TenantKey } from '../../src/definitions/search-attributes';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { reevaluationSchedule } from '../../src/infra/temporal/schedules';
import type { rotateEncryptionKey } from '../../src/workflows/key-rotation';
import type { reevaluateFunctions } from '../../src/workflows/reevaluate';
import type { activateVersion } from '../../src/workflows/regenerate';
import type { deliverWebhooks } from '../../src/workflows/webhooks';
import { stubActivities, withWorker, workflowEnvironment } from '../helpers/workflow-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

const TENANT = `run-metadata-${process.pid}`;

/** What the Temporal UI shows as a run's current details (the SDK's built-in metadata query). */
async function currentDetails(workflowId: string, runId: string): Promise<string> {
  const metadata = await env.client.workflow
    .getHandle(workflowId, runId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

describe('every workflow type sets Outcome when it ends', () => {
  test('activateVersion: completed, or failed when the activation fails', async () => {
    const { activities } = stubActivities({
      activate: async (req) => {
        if (req.version === 9) throw ApplicationFailure.nonRetryable('no such version', 'VersionNotFound');
        return { current: req.version, previous: 1 };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const start = (version: number) =>
        env.client.workflow.start<typeof activateVersion>(WORKFLOW_TYPES.activate, {
          taskQueue,
          workflowId: `activate-${version}-${taskQueue}`,
          args: [{ tenant_id: TENANT, function_name: 'safe_divide', version }],
        });
      const done = await start(2);
      await done.result();
      expect((await done.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('completed');
      const failed = await start(9);
      await expect(failed.result()).rejects.toThrow();
      expect((await failed.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('failed');
    });
  });

  test('deliverWebhooks: completed', async () => {
    const { activities } = stubActivities({
      deliverWebhook: async (input) => ({ webhook_id: input.webhook_id, status: 'delivered' }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await env.client.workflow.start<typeof deliverWebhooks>(WORKFLOW_TYPES.deliverWebhooks, {
        taskQueue,
        workflowId: `webhooks-${taskQueue}`,
        args: [
          {
            tenant_id: TENANT,
            event_id: '1',
            webhook_ids: ['a'],
            retry: { initial_interval_ms: 10, maximum_interval_ms: 20, maximum_attempts: 1, timeout_ms: 1_000 },
          },
        ],
      });
      await handle.result();
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('completed');
    });
  });
});

describe('runs that span tenants are the operator tenant’s, and every page of a chain shows its details', () => {
  test('reevaluateFunctions, started as the schedule starts it: Tenant and details on every page', async () => {
    const config = loadConfig({ OPERATOR_TENANT: `${TENANT}-ops` });
    const action = reevaluationSchedule(config).action;
    if (action.type !== 'startWorkflow') throw new Error('the schedule starts a workflow');
    const runIds: string[] = [];
    const { activities } = stubActivities({
      findReevaluations: async (input) => {
        runIds.push(Context.current().info.workflowExecution?.runId ?? '');
        return input.after ? { candidates: [] } : { candidates: [], next: { tenant_id: TENANT, function_name: 'a' } };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const workflowId = `reevaluate-${taskQueue}`;
      const handle = await env.client.workflow.start<typeof reevaluateFunctions>(WORKFLOW_TYPES.reevaluate, {
        taskQueue,
        workflowId,
        args: [{ concurrency: 1 }],
        typedSearchAttributes: action.typedSearchAttributes,
        staticSummary: action.staticSummary,
        staticDetails: action.staticDetails,
      });
      await handle.result();
      expect(runIds).toHaveLength(2);
      for (const runId of runIds) {
        const run = await env.client.workflow.getHandle(workflowId, runId).describe();
        expect(run.typedSearchAttributes.get(TenantKey)).toBe(`${TENANT}-ops`);
        expect(await currentDetails(workflowId, runId)).toContain(REEVALUATION_DETAILS);
      }
      expect(await currentDetails(workflowId, runIds[1]!)).toContain(`after \`${TENANT}/a\``);
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('completed');
    });
  });

  test('rotateEncryptionKey: every run of the chain shows the rotation and its progress', async () => {
    const runIds: string[] = [];
    const { activities } = stubActivities({
      reencryptPayloads: async (input) => {
        runIds.push(Context.current().info.workflowExecution?.runId ?? '');
        return {
          rewritten: { old: 1 },
          unreadable: {},
          classified: 0,
          concurrent: 0,
          read: 1,
          ...(input.count_remaining ? { remaining: 2 } : {}),
          next: input.after ? undefined : { tenant_id: TENANT, id: '1' },
        };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const workflowId = `rotate-${taskQueue}`;
      const handle = await env.client.workflow.start<typeof rotateEncryptionKey>(WORKFLOW_TYPES.rotateKey, {
        taskQueue,
        workflowId,
        args: [{ target_key_id: 'k2', page_size: 1, pages_per_run: 1 }],
        typedSearchAttributes: [{ key: TenantKey, value: `${TENANT}-ops` }],
      });
      expect((await handle.result()).runs).toBe(2);
      expect(runIds).toHaveLength(2);
      for (const [index, runId] of runIds.entries()) {
        expect(
          (await env.client.workflow.getHandle(workflowId, runId).describe()).typedSearchAttributes.get(TenantKey),
        ).toBe(`${TENANT}-ops`);
        const details = await currentDetails(workflowId, runId);
        expect(details).toContain(rotationDetails('k2'));
        expect(details).toContain(`run ${index + 1}`);
      }
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('completed');
    });
  });
});
