import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RolloutInput, VersionFigures } from '../../src/contracts/rollouts';
import { rolloutQuery, rolloutUpdates } from '../../src/definitions/messages';
import { OutcomeKey, RolloutStepKey } from '../../src/definitions/search-attributes';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import type { rolloutVersion } from '../../src/workflows/rollout';
import { callsOf, recordHistory, stubActivities, withWorker, workflowEnvironment } from '../helpers/workflow-env';

// The global dev server has no time skipping: steps wait on real one- or two-second timers.
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await workflowEnvironment();
});
afterAll(() => env?.teardown());

const input = (overrides: Partial<RolloutInput> = {}): RolloutInput => ({
  tenant_id: 'default',
  function_name: 'safe_divide',
  candidate_version: 3,
  baseline_version: 2,
  steps: [5, 25, 50, 100],
  min_calls: 100,
  step_wait: 1,
  max_duration: 3600,
  ...overrides,
});

const figures = (version: number, calls: number, successes: number, p95 = 100): VersionFigures => ({
  version,
  calls,
  successes,
  success_rate: calls ? successes / calls : null,
  p95_ms: calls ? p95 : null,
});

/** Field reports where the candidate succeeds `candidateSuccesses` of 1000 calls and the baseline 990. */
const field = (candidateSuccesses: number) => ({
  rolloutFigures: async () => ({ candidate: figures(3, 1000, candidateSuccesses), baseline: figures(2, 1000, 990) }),
  activate: async () => ({ current: 3, previous: 2 }),
});

const start = (taskQueue: string, overrides: Partial<RolloutInput> = {}) =>
  env.client.workflow.start<typeof rolloutVersion>(WORKFLOW_TYPES.rollout, {
    taskQueue,
    workflowId: `rollout-${taskQueue}`,
    args: [input(overrides)],
  });

describe('rolloutVersion against stub activities', () => {
  test('a candidate no worse than the baseline advances through every step and is activated past the last one below 100', async () => {
    const { activities, calls, names } = stubActivities(field(995));
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const state = await handle.result();
      expect(state).toMatchObject({ status: 'promoted', share_percent: 100, step_index: 2 });
      expect(state.last_judgement).toMatchObject({ verdict: 'advance' });
      expect(callsOf(calls, 'recordRollout').map((r) => [r.share_percent, r.status])).toEqual([
        [5, 'running'],
        [25, 'running'],
        [50, 'running'],
        [100, 'promoted'],
      ]);
      expect(callsOf(calls, 'activate')).toEqual([{ tenant_id: 'default', function_name: 'safe_divide', version: 3 }]);
      // Validated with the feedback examples before the first step.
      expect(names()[0]).toBe('shadowValidate');
      const events = callsOf(calls, 'publish').flatMap((p) => p.events);
      expect(events.map((e) => e.type)).toEqual([
        'rollout.started',
        'rollout.advanced',
        'rollout.advanced',
        'rollout.promoted',
        'version.activated',
        'version.deprecated',
      ]);
      // Each decision carries the figures that made it.
      expect(events[1]!.payload).toMatchObject({
        from_percent: 5,
        share_percent: 25,
        judgement: { verdict: 'advance', candidate: { calls: 1000, successes: 995 }, p95_ratio: 1 },
      });
      const { typedSearchAttributes } = await handle.describe();
      expect(typedSearchAttributes.get(OutcomeKey)).toBe('promoted');
      expect(typedSearchAttributes.get(RolloutStepKey)).toBe('promoted');
      await recordHistory(handle, 'rollout-promoted');
    });
  });

  test('a worse candidate is rolled back at the first judgement: share 0, the baseline never replaced', async () => {
    const { activities, calls } = stubActivities(field(900));
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      const state = await handle.result();
      expect(state).toMatchObject({ status: 'rolled_back', share_percent: 0, step_index: 0 });
      expect(callsOf(calls, 'rolloutFigures')).toHaveLength(1);
      expect(callsOf(calls, 'recordRollout').map((r) => r.share_percent)).toEqual([5, 0]);
      expect(callsOf(calls, 'activate')).toEqual([]);
      const rolledBack = callsOf(calls, 'publish').flatMap((p) => p.events)[1]!;
      expect(rolledBack.type).toBe('rollout.rolled_back');
      expect(rolledBack.payload).toMatchObject({ reason: 'worse', share_percent: 5, judgement: { verdict: 'worse' } });
      expect((rolledBack.payload.judgement as { z: number }).z).toBeGreaterThan(1.645);
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('rolled_back');
    });
  });

  test("a candidate failing the function's feedback examples is rolled back before any exposure, the example named", async () => {
    const failing = { example: 0, call: { args: [7, 2], kwargs: {} }, expected: '3.5', got: '3' };
    const shadow = { passed: false, examples: 1, reason: 'feedback example 0 failed', failing_examples: [failing] };
    const { activities, calls } = stubActivities({ ...field(995), shadowValidate: async () => shadow });
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue);
      expect(await handle.result()).toMatchObject({ status: 'rolled_back', share_percent: 0, step_index: 0 });
      expect(callsOf(calls, 'shadowValidate')).toEqual([
        { tenant_id: 'default', function_name: 'safe_divide', version: 3 },
      ]);
      expect(callsOf(calls, 'recordRollout').map((r) => [r.share_percent, r.status])).toEqual([[0, 'rolled_back']]);
      expect(callsOf(calls, 'rolloutFigures')).toEqual([]);
      expect(callsOf(calls, 'activate')).toEqual([]);
      const events = callsOf(calls, 'publish').flatMap((p) => p.events);
      expect(events).toEqual([
        expect.objectContaining({
          type: 'rollout.rolled_back',
          payload: expect.objectContaining({ reason: 'shadow_validation_failed', share_percent: 0, shadow }),
        }),
      ]);
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('rolled_back');
    });
  });

  test('short of calls it waits another interval, and rolls back once max_duration has passed', async () => {
    const { activities, calls } = stubActivities();
    await withWorker(env, activities, async (taskQueue) => {
      // Several intervals of 1 s fit in the 5 s, however slow a loaded machine makes the activities between them.
      const state = await (await start(taskQueue, { max_duration: 5 })).result();
      expect(state).toMatchObject({ status: 'rolled_back', last_judgement: { verdict: 'insufficient_calls' } });
      expect(callsOf(calls, 'rolloutFigures').length).toBeGreaterThanOrEqual(2);
      const last = callsOf(calls, 'publish').at(-1)!.events[0]!;
      expect(last.payload).toMatchObject({ reason: 'insufficient_calls_by_max_duration' });
    });
  });

  test('a paused rollout does not advance while paused; resumed, it goes on to promotion', async () => {
    const { activities, calls } = stubActivities(field(995));
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue, { steps: [5, 50, 100], step_wait: 2 });
      expect(await handle.executeUpdate(rolloutUpdates.pause)).toMatchObject({ status: 'paused', share_percent: 5 });
      await sleep(3000);
      expect(callsOf(calls, 'rolloutFigures')).toEqual([]);
      expect(await handle.query(rolloutQuery)).toMatchObject({ status: 'paused', share_percent: 5 });
      expect(await handle.executeUpdate(rolloutUpdates.resume)).toMatchObject({ status: 'running' });
      expect(await handle.result()).toMatchObject({ status: 'promoted' });
      const types = callsOf(calls, 'publish').flatMap((p) => p.events.map((e) => e.type));
      expect(types.slice(0, 3)).toEqual(['rollout.started', 'rollout.paused', 'rollout.resumed']);
      expect(types).toContain('rollout.promoted');
    });
  });

  test('abort ends the rollout at once: share 0, the baseline stays active; a control after the end is refused', async () => {
    const { activities, calls } = stubActivities(field(995));
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue, { step_wait: 3600 });
      expect(await handle.executeUpdate(rolloutUpdates.abort)).toMatchObject({ status: 'aborted', share_percent: 0 });
      expect(await handle.result()).toMatchObject({ status: 'aborted' });
      expect(callsOf(calls, 'recordRollout').map((r) => [r.share_percent, r.status])).toEqual([
        [5, 'running'],
        [0, 'aborted'],
      ]);
      expect(callsOf(calls, 'activate')).toEqual([]);
      expect(callsOf(calls, 'publish').at(-1)!.events[0]).toMatchObject({
        type: 'rollout.rolled_back',
        payload: { reason: 'aborted' },
      });
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeKey)).toBe('aborted');
      await expect(handle.executeUpdate(rolloutUpdates.resume)).rejects.toThrow();
    });
  });

  test('promote forces the candidate active before its steps are done', async () => {
    const { activities, calls } = stubActivities(field(995));
    await withWorker(env, activities, async (taskQueue) => {
      const handle = await start(taskQueue, { step_wait: 3600 });
      expect(await handle.executeUpdate(rolloutUpdates.promote)).toMatchObject({ status: 'promoted' });
      expect(callsOf(calls, 'activate')).toHaveLength(1);
      expect(callsOf(calls, 'publish').at(-1)!.events[0]).toMatchObject({
        type: 'rollout.promoted',
        payload: { forced: true, from_percent: 5 },
      });
    });
  });
});
