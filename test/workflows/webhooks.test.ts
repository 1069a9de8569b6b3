import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FailureType } from '../../src/contracts/failure-types';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import * as workflows from '../../src/workflows';
import type { deliverWebhooks } from '../../src/workflows/webhooks';
import { stubActivities, withWorker, workflowEnvironment } from '../helpers/workflow-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

test('every workflow type name is a workflow the bundle exports', () => {
  expect(Object.values(WORKFLOW_TYPES).sort()).toEqual(Object.keys(workflows).sort());
});

describe('deliverWebhooks against stub activities', () => {
  test('each webhook retries on its own with the policy from the input; a refused one fails without holding up the others', async () => {
    const attempts: Record<string, number[]> = {};
    const { activities } = stubActivities({
      deliverWebhook: async (input) => {
        const { attempt } = Context.current().info;
        (attempts[input.webhook_id] ??= []).push(attempt);
        if (input.webhook_id === 'flaky' && attempt < 3)
          throw ApplicationFailure.create({ type: FailureType.WebhookTransient, message: '503' });
        if (input.webhook_id === 'gone')
          throw ApplicationFailure.create({ type: FailureType.WebhookRejected, message: '410' });
        if (input.webhook_id === 'down')
          throw ApplicationFailure.create({ type: FailureType.WebhookTransient, message: 'connection refused' });
        return { webhook_id: input.webhook_id, status: 'delivered' };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const result = await env.client.workflow.execute<typeof deliverWebhooks>(WORKFLOW_TYPES.deliverWebhooks, {
        taskQueue,
        workflowId: `webhooks-${taskQueue}`,
        args: [
          {
            tenant_id: 'default',
            event_id: '42',
            webhook_ids: ['ok', 'flaky', 'gone', 'down'],
            retry: { initial_interval_ms: 10, maximum_interval_ms: 20, maximum_attempts: 4, timeout_ms: 1_000 },
          },
        ],
      });
      expect(result).toEqual([
        { webhook_id: 'ok', status: 'delivered' },
        { webhook_id: 'flaky', status: 'delivered' },
        { webhook_id: 'gone', status: 'failed' },
        { webhook_id: 'down', status: 'failed' },
      ]);
      expect(attempts).toEqual({ ok: [1], flaky: [1, 2, 3], gone: [1], down: [1, 2, 3, 4] });
    });
  });
});
