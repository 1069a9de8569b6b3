import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WithStartWorkflowOperation, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { FailureType } from '../../src/contracts/failure-types';
import { enhanceResultUpdate, progressQuery } from '../../src/definitions/messages';
import { CacheOutcomeKey, OutcomeKey, ProviderKey } from '../../src/definitions/search-attributes';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import type { enhanceFunction } from '../../src/workflows/enhance';
import {
  callsOf,
  enhanceInput,
  enhancement,
  llmAttempt,
  recordHistory,
  stubActivities,
  withWorker,
  workflowEnvironment,
} from '../helpers/workflow-env';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

const start = (taskQueue: string, input = enhanceInput()) =>
  env.client.workflow.start<typeof enhanceFunction>(WORKFLOW_TYPES.enhance, {
    taskQueue,
    workflowId: `enhance-${taskQueue}`,
    args: [input],
  });

/** What the API does: start the run and wait for its answer through the enhanceResult update. */
async function startAndAwaitAnswer(taskQueue: string, input = enhanceInput()) {
  const update = await env.client.workflow.startUpdateWithStart(enhanceResultUpdate, {
    startWorkflowOperation: new WithStartWorkflowOperation<typeof enhanceFunction>(WORKFLOW_TYPES.enhance, {
      taskQueue,
      workflowId: `enhance-${taskQueue}`,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [input],
    }),
    waitForStage: 'ACCEPTED',
  });
  const answer = await update.result();
  const handle = env.client.workflow.getHandle<typeof enhanceFunction>(`enhance-${taskQueue}`);
  return { answer, handle, result: await handle.result() };
}

async function searchAttributes(handle: WorkflowHandle) {
  const { typedSearchAttributes } = await handle.describe();
  return {
    cache: typedSearchAttributes.get(CacheOutcomeKey),
    provider: typedSearchAttributes.get(ProviderKey),
    outcome: typedSearchAttributes.get(OutcomeKey),
  };
}

const eventTypes = (published: { events: { type: string }[] }) => published.events.map((e) => e.type);

describe('enhanceFunction against stub activities', () => {
  test('a miss generates with the template, validates, stores the cache entry with version 1, and publishes', async () => {
    const { activities, calls, names } = stubActivities();
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const result = await handle.result();
      expect(result).toMatchObject({
        function_name: 'safe_divide',
        version: 1,
        metadata: { cache: 'miss', provider: 'template', fallback: false, safety_level: 'high' },
      });
      expect(result.metadata.attempts).toEqual([
        expect.objectContaining({ provider: 'template', outcome: 'accepted' }),
      ]);
      expect(names().slice(0, 4)).toEqual(['cacheLookupWithVersion', 'generationPlan', 'generate', 'validate']);
      // The cache entry is written alongside the version, then the events go out.
      expect(new Set(names().slice(4, 6))).toEqual(new Set(['cacheStore', 'storeVersion']));
      expect(names().slice(6)).toEqual(['publish']);
      expect(callsOf(calls, 'cacheStore')[0]).toMatchObject({
        key: 'exact-key',
        l2_key: 'l2-key',
        value: enhancement(),
      });
      expect(callsOf(calls, 'storeVersion')[0]).toMatchObject({
        tenant_id: 'default',
        input_hash: enhanceInput().input_hash,
        workflow_id: handle.workflowId,
      });
      expect(eventTypes(callsOf(calls, 'publish')[0]!)).toEqual([
        'enhancement.started',
        'version.created',
        'enhancement.completed',
      ]);
      expect(await searchAttributes(handle)).toEqual({ cache: 'miss', provider: 'template', outcome: 'completed' });
      expect(await handle.query(progressQuery)).toMatchObject({ kind: 'single', stage: 'completed' });
      await recordHistory(handle, 'enhance-miss');
    });
  });

  test('a miss started by update-with-start answers the update once its events are published', async () => {
    const { activities, names } = stubActivities();
    await withWorker(env, activities, async (taskQueue) => {
      const { answer, handle, result } = await startAndAwaitAnswer(taskQueue);
      expect(answer).toEqual(result);
      expect(names()[names().length - 1]).toBe('publish');
      await recordHistory(handle, 'enhance-miss-update');
    });
  });

  test('an input the active version answers already is answered with it: no generation, no store, metadata.lineage says why', async () => {
    const lineage = {
      version: 3,
      relation: 'same_input' as const,
      trigger: 'feedback' as const,
      parent_version: 2,
      reactivated: false,
      reason: 'v3 (regenerated from v2 by feedback) is active and already answers this input',
    };
    const { activities, calls, names } = stubActivities({
      cacheLookupWithVersion: async () => ({
        key: 'exact-key',
        hit: null,
        active_version: 3,
        lineage: {
          enhancement: enhancement('template', 'learned = True\n'),
          lineage,
          parent_version: null,
          layer: null,
        },
      }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      const { answer, handle } = await startAndAwaitAnswer(taskQueue);
      expect(answer).toMatchObject({
        version: 3,
        enhanced_code: { python: 'learned = True\n' },
        metadata: { cache: 'hit', attempts: [], usage: { calls: 0 }, lineage },
      });
      expect(names()).toEqual(['cacheLookupWithVersion', 'publish']);
      expect(callsOf(calls, 'publish')[0]!.events).toEqual([
        expect.objectContaining({ type: 'enhancement.started' }),
        { type: 'enhancement.completed', payload: { version: 3, cache: 'hit', safety_level: 'high' } },
      ]);
      expect(await searchAttributes(handle)).toEqual({ cache: 'hit', provider: 'template', outcome: 'completed' });
      await recordHistory(handle, 'enhance-hit');
    });
  });

  test("a hit whose input is not the active version stores it with the caller's source kept for L2 (the version the store answers)", async () => {
    const { activities, calls, names } = stubActivities({
      cacheLookupWithVersion: async () => ({
        key: 'exact-key',
        hit: { value: enhancement(), layer: 'l0' as const },
        active_version: null,
        lineage: null,
      }),
      storeVersion: async () => ({ version: 4, created: true, deprecated: 3 }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      const result = await (await start(taskQueue)).result();
      expect(result.version).toBe(4);
      expect(names()).toEqual(['cacheLookupWithVersion', 'storeVersion', 'publish']);
      expect(callsOf(calls, 'cacheLookupWithVersion')[0]).toMatchObject({
        original_code: enhanceInput().request.original_code,
      });
      expect(callsOf(calls, 'storeVersion')[0]).toMatchObject({ trigger: 'request', parent_version: null });
    });
  });

  test('a module byte-identical to the active version is answered with it: the store says so in metadata.lineage', async () => {
    const lineage = {
      version: 3,
      relation: 'identical_code' as const,
      trigger: 'request' as const,
      parent_version: null,
      reactivated: false,
      reason: 'the enhanced module is byte-identical to v3, the active version',
    };
    const { activities } = stubActivities({
      storeVersion: async () => ({ version: 3, created: false, deprecated: null, lineage }),
    });
    await withWorker(env, activities, async (taskQueue) => {
      const result = await (await start(taskQueue)).result();
      expect(result).toMatchObject({ version: 3, metadata: { cache: 'miss', lineage } });
    });
  });

  test('repair rounds: a refused answer goes back to the same provider with the validation errors', async () => {
    let validations = 0;
    const { activities, calls, names } = stubActivities({
      generationPlan: async () => ({ providers: ['fake'], max_repairs: 2, max_attempts: 1 }),
      generateWithLlm: async (input) => ({
        artifact: enhancement('fake', `broken round ${input.round}`).artifact,
        attempts: [llmAttempt('fake', input.round)],
      }),
      validate: async (input) => {
        validations += 1;
        if (validations === 1)
          throw ApplicationFailure.create({
            type: FailureType.ValidationFailed,
            nonRetryable: true,
            message: 'SyntaxError at line 1',
          });
        return { ...enhancement().validation, samples_run: input.artifact.python.length };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const result = await handle.result();
      expect(names().slice(0, 6)).toEqual([
        'cacheLookupWithVersion',
        'generationPlan',
        'generateWithLlm',
        'validate',
        'generateWithLlm',
        'validate',
      ]);
      const [first, repair] = callsOf(calls, 'generateWithLlm');
      expect(first).toMatchObject({ provider: 'fake', round: 0 });
      expect(first!.repair).toBeUndefined();
      expect(repair).toMatchObject({ provider: 'fake', round: 1, repair: { errors: 'SyntaxError at line 1' } });
      expect(JSON.parse(repair!.repair!.previous)).toMatchObject({ python: 'broken round 0' });
      expect(result.metadata).toMatchObject({
        provider: 'fake',
        fallback: false,
        usage: { calls: 2, prompt_tokens: 20 },
      });
      expect(result.metadata.attempts.map((a) => [a.round, a.outcome, a.reason])).toEqual([
        [0, 'invalid', 'SyntaxError at line 1'],
        [1, 'accepted', null],
      ]);
      expect(result.enhanced_code.python).toBe('broken round 1');
      await recordHistory(handle, 'enhance-llm-repair');
    });
  });

  test('provider fallback: an unavailable provider hands over to the next at once, then the template', async () => {
    const { activities, calls, names } = stubActivities({
      generationPlan: async () => ({ providers: ['primary', 'secondary'], max_repairs: 1, max_attempts: 3 }),
      generateWithLlm: async (input) => {
        throw ApplicationFailure.create({
          type: FailureType.ProviderUnavailable,
          nonRetryable: true,
          message: `${input.provider}: circuit open`,
          details: [{ attempts: [{ ...llmAttempt(input.provider, 0, 'failed'), reason: 'circuit open' }] }],
        });
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const result = await handle.result();
      expect(callsOf(calls, 'generateWithLlm').map((c) => c.provider)).toEqual(['primary', 'secondary']);
      expect(names().slice(0, 6)).toEqual([
        'cacheLookupWithVersion',
        'generationPlan',
        'generateWithLlm',
        'generateWithLlm',
        'generate',
        'validate',
      ]);
      expect(result.metadata).toMatchObject({ provider: 'template', fallback: true });
      expect(result.metadata.attempts.map((a) => [a.provider, a.outcome])).toEqual([
        ['primary', 'failed'],
        ['secondary', 'failed'],
        ['template', 'accepted'],
      ]);
      expect(await searchAttributes(handle)).toMatchObject({ provider: 'template', outcome: 'completed' });
    });
  });

  test('provider fallback: the second provider answers when the first is unavailable', async () => {
    const { activities, names } = stubActivities({
      generationPlan: async () => ({ providers: ['primary', 'secondary'], max_repairs: 0, max_attempts: 1 }),
      generateWithLlm: async (input) => {
        if (input.provider === 'primary')
          throw ApplicationFailure.create({
            type: FailureType.ProviderUnavailable,
            nonRetryable: true,
            message: '401',
          });
        return { artifact: enhancement('secondary').artifact, attempts: [llmAttempt('secondary', 0)] };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const result = await (await start(taskQueue)).result();
      expect(result.metadata).toMatchObject({ provider: 'secondary', fallback: true });
      expect(result.metadata.attempts.map((a) => [a.provider, a.outcome, a.reason])).toEqual([
        ['primary', 'failed', '401'],
        ['secondary', 'accepted', null],
      ]);
      expect(names()).not.toContain('generate');
    });
  });

  test('the template failing validation fails the run, which publishes enhancement.failed', async () => {
    const { activities, calls, names } = stubActivities({
      validate: async () => {
        throw ApplicationFailure.create({
          type: FailureType.ValidationFailed,
          nonRetryable: true,
          message: 'behaviour differs on (1, 0)',
        });
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(names()).toEqual(['cacheLookupWithVersion', 'generationPlan', 'generate', 'validate', 'publish']);
      expect(callsOf(calls, 'publish')[0]!.events[1]).toEqual({
        type: 'enhancement.failed',
        payload: {
          reason: 'behaviour differs on (1, 0)',
          code: 'validation_failed',
          category: 'validation',
          severity: 'warning',
        },
      });
      expect(await searchAttributes(handle)).toMatchObject({ outcome: 'failed' });
      expect(await handle.query(progressQuery)).toMatchObject({ stage: 'failed' });
      await recordHistory(handle, 'enhance-validation-failed');
    });
  });

  test('canceled before the commit point: the LLM call is canceled, nothing is stored or published', async () => {
    let generating!: () => void;
    const generatingStarted = new Promise<void>((resolve) => (generating = resolve));
    const { activities, names } = stubActivities({
      generationPlan: async () => ({ providers: ['fake'], max_repairs: 0, max_attempts: 1 }),
      generateWithLlm: async () => {
        generating();
        const context = Context.current();
        const beat = setInterval(() => context.heartbeat(), 200);
        try {
          await context.cancelled;
        } finally {
          clearInterval(beat);
        }
        throw new Error('unreachable: cancelled rejects');
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      await generatingStarted;
      await handle.cancel();
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(names()).toEqual(['cacheLookupWithVersion', 'generationPlan', 'generateWithLlm']);
      expect(await searchAttributes(handle)).toMatchObject({ outcome: 'canceled' });
      await recordHistory(handle, 'enhance-canceled');
    });
  });

  test('canceled at the commit point: the run finishes, storing the version and publishing its events', async () => {
    let storing!: () => void;
    const storingStarted = new Promise<void>((resolve) => (storing = resolve));
    let canceled!: () => void;
    const cancelSent = new Promise<void>((resolve) => (canceled = resolve));
    const { activities, calls, names } = stubActivities({
      storeVersion: async () => {
        storing();
        await cancelSent;
        return { version: 1, created: true, deprecated: null };
      },
    });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      await storingStarted;
      await handle.cancel();
      canceled();
      expect(await handle.result()).toMatchObject({ version: 1, metadata: { cache: 'miss' } });
      expect(await searchAttributes(handle)).toMatchObject({ outcome: 'completed' });
      expect(names().slice(-2)).toEqual(['storeVersion', 'publish']);
      expect(eventTypes(callsOf(calls, 'publish')[0]!)).toEqual([
        'enhancement.started',
        'version.created',
        'enhancement.completed',
      ]);
      await recordHistory(handle, 'enhance-canceled-at-commit');
    });
  });
});
