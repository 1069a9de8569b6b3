import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BatchWorkflowInput } from '../../src/contracts/progress';
import { FailureType } from '../../src/contracts/failure-types';
import { progressQuery } from '../../src/definitions/messages';
import { FunctionNameKey, OutcomeKey } from '../../src/definitions/search-attributes';
import { batchItemWorkflowId } from '../../src/definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import type { enhanceBatch } from '../../src/workflows/batch';
import { callsOf, enhanceInput, stubActivities, withWorker, workflowEnvironment } from '../helpers/workflow-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

describe('enhanceBatch against stub activities', () => {
  test('children run two at a time; a failed item is reported and the others complete: Outcome=partial', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const { activities, calls } = stubActivities({
      generate: async (input) => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 300));
        running -= 1;
        return await stubActivities().activities.generate(input);
      },
      validate: async (input) => {
        if (input.request.function_name === 'bad_one') {
          throw ApplicationFailure.create({
            type: FailureType.ValidationFailed,
            nonRetryable: true,
            message: 'bad_one does not compile',
          });
        }
        return { safety_level: 'high', findings: [], samples_run: 1, duration_ms: 1 };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const batchId = `batch-${taskQueue}`;
      const input: BatchWorkflowInput = {
        tenant_id: 'default',
        concurrency: 2,
        items: ['first_one', 'bad_one', 'third_one'].map((name, index) => {
          const { request, input_hash, normalized_input_hash } = enhanceInput(name);
          return {
            request,
            input_hash,
            normalized_input_hash: normalized_input_hash!,
            workflow_id: batchItemWorkflowId(batchId, index),
          };
        }),
      };
      const handle = await env.client.workflow.start<typeof enhanceBatch>(WORKFLOW_TYPES.batch, {
        taskQueue,
        workflowId: batchId,
        args: [input],
      });
      const result = await handle.result();
      expect(result).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
      expect(result.items.map((i) => [i.function_name, i.workflow_id, i.status])).toEqual([
        ['first_one', `${batchId}.0`, 'completed'],
        ['bad_one', `${batchId}.1`, 'failed'],
        ['third_one', `${batchId}.2`, 'completed'],
      ]);
      expect(result.items[1]).toMatchObject({ error: 'bad_one does not compile' });
      expect(mostAtOnce).toBe(2);
      expect(new Set(callsOf(calls, 'storeVersion').map((c) => c.request.function_name))).toEqual(
        new Set(['first_one', 'third_one']),
      );
      const { typedSearchAttributes } = await handle.describe();
      expect(typedSearchAttributes.get(OutcomeKey)).toBe('partial');
      // Each child carries the search attributes a single enhance would.
      const child = await env.client.workflow.getHandle(`${batchId}.2`).describe();
      expect(child.typedSearchAttributes.get(FunctionNameKey)).toBe('third_one');
      expect(await handle.query(progressQuery)).toMatchObject({
        kind: 'batch',
        stage: 'completed',
        done: 3,
        total: 3,
        succeeded: 2,
        failed: 1,
      });
    });
  });
});
