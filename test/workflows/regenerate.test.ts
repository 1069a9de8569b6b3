import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Assessment } from '../../src/contracts/feedback';
import { OutcomeKey } from '../../src/definitions/search-attributes';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import type { activateVersion, regenerateFromFeedback } from '../../src/workflows/regenerate';
import { callsOf, enhanceInput, stubActivities, withWorker, workflowEnvironment } from '../helpers/workflow-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

const input = { tenant_id: 'default', function_name: 'safe_divide', version: 2 };
const guidance = {
  reason: 'error_rate 0.40 over 0.2',
  suggestions: ['retry on TimeoutError'],
  operate: { retries: 4 },
  perceive: {},
};
const requiresUpdate: Assessment = {
  status: 'requires_update',
  reasons: [guidance.reason],
  feedback_count: 3,
  regenerate: { request: enhanceInput().request, input_hash: 'c'.repeat(64), guidance },
};

const regenerate = (taskQueue: string) =>
  env.client.workflow.execute<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
    taskQueue,
    workflowId: `regenerate-${taskQueue}`,
    args: [input],
  });

describe('regenerateFromFeedback and activateVersion against stub activities', () => {
  test('Train accepts the feedback: no generation, no new version', async () => {
    const { activities, names } = stubActivities({
      assessFeedback: async () => ({ status: 'accepted', reasons: ['rating 5'], feedback_count: 1 }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      expect(await regenerate(taskQueue)).toMatchObject({ status: 'accepted', version: 2, update_reason: 'rating 5' });
      expect(names()).toEqual(['assessFeedback']);
      const { typedSearchAttributes } = await env.client.workflow.getHandle(`regenerate-${taskQueue}`).describe();
      expect(typedSearchAttributes.get(OutcomeKey)).toBe('accepted');
    });
  });

  test('Train requires an update: version N+1 is generated with the learned guidance, stored, and N deprecated', async () => {
    const { activities, calls, names } = stubActivities({
      assessFeedback: async () => requiresUpdate,
      storeVersion: async () => ({ version: 3, created: true, deprecated: 2 }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      const result = await regenerate(taskQueue);
      expect(result).toMatchObject({
        status: 'requires_update',
        version: 2,
        new_version: 3,
        update_reason: guidance.reason,
      });
      expect(names()).toEqual(['assessFeedback', 'generationPlan', 'generate', 'validate', 'storeVersion', 'publish']);
      expect(callsOf(calls, 'generate')[0]).toMatchObject({ guidance });
      expect(callsOf(calls, 'storeVersion')[0]).toMatchObject({
        input_hash: 'c'.repeat(64),
        guidance,
        metadata: { cache: 'bypass' },
      });
      expect(callsOf(calls, 'publish')[0]!.events.slice(1)).toEqual([
        { type: 'version.created', payload: { version: 3, regenerated_from: 2, reason: guidance.reason } },
        { type: 'version.deprecated', payload: { version: 2 } },
        { type: 'enhancement.completed', payload: { version: 3, cache: 'bypass', safety_level: 'high' } },
      ]);
      const { typedSearchAttributes } = await env.client.workflow.getHandle(`regenerate-${taskQueue}`).describe();
      expect(typedSearchAttributes.get(OutcomeKey)).toBe('regenerated');
    });
  });

  test("with the tenant's rollout plan, N+1 is stored inactive and rolled out by a run of its own; one under way is left alone", async () => {
    const plan = { steps: [10, 100], min_calls: 50, step_wait: 1, max_duration: 1 };
    let rolloutId = '';
    const { activities, calls } = stubActivities({
      assessFeedback: async () => ({ ...requiresUpdate, rollout: { plan, workflow_id: rolloutId } }),
      storeVersion: async () => ({ version: 3, created: true, deprecated: null }),
    });
    await withWorker(env, activities, async (queue) => {
      rolloutId = `rollout-${queue}`;
      const result = await env.client.workflow.execute<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
        taskQueue: queue,
        workflowId: `regenerate-${queue}`,
        args: [input],
      });
      expect(result).toMatchObject({ status: 'requires_update', new_version: 3 });
      expect(callsOf(calls, 'storeVersion')[0]).toMatchObject({ inactive: true });
      expect(callsOf(calls, 'publish')[0]!.events.slice(1, 2)).toEqual([
        {
          type: 'version.created',
          payload: { version: 3, regenerated_from: 2, reason: guidance.reason, rollout_started: true },
        },
      ]);
      // The rollout outlives the regeneration: abandoned, it runs to its own end (short of calls: rolled back).
      const rollout = env.client.workflow.getHandle(rolloutId);
      expect((await rollout.describe()).memo).toEqual({ tenant_id: 'default' });
      expect(await rollout.result()).toMatchObject({
        candidate_version: 3,
        baseline_version: 2,
        steps: plan.steps,
        status: 'rolled_back',
      });
      expect(callsOf(calls, 'shadowValidate')).toEqual([
        { tenant_id: 'default', function_name: 'safe_divide', version: 3 },
      ]);

      // The same rollout id running: the start is refused, the new version left inactive for an operator.
      await env.client.workflow.start(WORKFLOW_TYPES.rollout, {
        taskQueue: queue,
        workflowId: rolloutId,
        args: [
          {
            ...plan,
            max_duration: 3600,
            tenant_id: 'default',
            function_name: 'safe_divide',
            candidate_version: 3,
            baseline_version: 2,
          },
        ],
      });
      await env.client.workflow.execute<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
        taskQueue: queue,
        workflowId: `regenerate-again-${queue}`,
        args: [input],
      });
      expect(callsOf(calls, 'publish').at(-1)!.events[1]).toMatchObject({
        type: 'version.created',
        payload: { rollout_started: false },
      });
      await env.client.workflow.getHandle(rolloutId).terminate('test over');
    });
  });

  test('activateVersion switches the active version and says so in the events', async () => {
    const { activities, calls } = stubActivities({ activate: async (req) => ({ current: req.version, previous: 3 }) });
    await withWorker(env, activities, async (taskQueue) => {
      const result = await env.client.workflow.execute<typeof activateVersion>(WORKFLOW_TYPES.activate, {
        taskQueue,
        workflowId: `activate-${taskQueue}`,
        args: [input],
      });
      expect(result).toMatchObject({ function_name: 'safe_divide', current_version: 2, previous_version: 3 });
      expect(callsOf(calls, 'publish')[0]!.events).toEqual([
        { type: 'version.activated', payload: { version: 2, previous: 3 } },
        { type: 'version.deprecated', payload: { version: 3 } },
      ]);
    });
  });

  test('activating the version already active publishes nothing', async () => {
    const { activities, names } = stubActivities({
      activate: async (req) => ({ current: req.version, previous: req.version }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      await env.client.workflow.execute<typeof activateVersion>(WORKFLOW_TYPES.activate, {
        taskQueue,
        workflowId: `activate-${taskQueue}`,
        args: [input],
      });
      expect(names()).toEqual(['activate']);
    });
  });
});
