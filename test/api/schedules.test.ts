import type { FeedbackRequest } from '../../src/contracts/feedback';
import { FeedbackRepo } from '../../src/infra/db/feedback-repo';
import { regenerateWorkflowId } from '../../src/definitions/workflow-ids';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { sha256 } from '../../src/infra/hash';
import type { regenerateFromFeedback } from '../../src/workflows/regenerate';
import { waitFor } from '../helpers/net';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/**
 * Scheduled re-evaluation through the API: the schedule is triggered, never waited for. Page size 1, so the run
 * pages through the functions by continue-as-new.
 */
describe('scheduled re-evaluation', () => {
  let stack: TestStack;
  let scheduleId: string;
  const api = (path: string) => `${stack.url}/api/v1${path}`;

  beforeAll(async () => {
    stack = await startStack('schedules', { REEVALUATION_PAGE_SIZE: '1', REEVALUATION_CONCURRENCY: '2' });
    scheduleId = stack.config.reevaluationScheduleId;
  });
  afterAll(() => stack.close());

  const enhance = async (name: string) => {
    const res = await postJson(api('/functions/enhance'), {
      function_name: name,
      original_code: `def ${name}(a: float, b: float) -> float:\n    return a / b\n`,
      context: { samples: [[6, 3]] },
    });
    expect(res.body.version).toBe(1);
  };
  /**
   * Feedback straight into the store, without the regeneration run POST /feedback starts at once: what re-evaluation
   * is there to catch (feedback whose run failed or was lost, or feedback on a version that became active again).
   */
  const recordFeedback = (name: string, fb: Partial<FeedbackRequest>) =>
    new FeedbackRepo(stack.pool).record('default', name, {
      version: 1,
      execution_id: `exec-${uniqueSuffix()}`,
      feedback_type: 'user',
      ...fb,
    });
  const currentVersion = async (name: string) => (await getJson(api(`/functions/${name}`))).body.current_version;
  const eventsOf = async (name: string) =>
    (await getJson(api(`/functions/${name}/events?limit=100`))).body.events as {
      event_type: string;
      payload: Record<string, unknown>;
    }[];
  const schedule = async () => {
    const res = await getJson(api('/schedules'));
    expect(res.status).toBe(200);
    return res.body.schedules.find((s: { id: string }) => s.id === scheduleId);
  };

  /** Triggers the schedule and follows the run it started (through its continue-as-new pages) to its result. */
  async function trigger(): Promise<{ totals: Record<string, number>; firstRun: string }> {
    const before = (await schedule()).recent_actions.length;
    const res = await postJson(api(`/schedules/${scheduleId}/trigger`), {});
    expect(res.status).toBe(200);
    let action = { workflow_id: '', run_id: '' };
    await waitFor(
      async () => {
        const actions = (await schedule()).recent_actions;
        action = actions[actions.length - 1] ?? action;
        return actions.length > before;
      },
      30_000,
      'the triggered action in recent_actions',
      200,
    );
    const totals = await stack.client.workflow.getHandle(action.workflow_id).result();
    const firstRun = await stack.client.workflow.getHandle(action.workflow_id, action.run_id).describe();
    return { totals, firstRun: firstRun.status.name };
  }

  test('the worker applied the schedule: cron and jitter from config, overlap SKIP, not paused', async () => {
    expect(await schedule()).toMatchObject({
      id: scheduleId,
      workflow_type: 'reevaluateFunctions',
      cron: stack.config.REEVALUATION_CRON,
      jitter: stack.config.REEVALUATION_JITTER,
      overlap: 'SKIP',
      paused: false,
    });
    expect((await schedule()).next_action_times.length).toBeGreaterThan(0);
  });

  test('feedback past the Train thresholds regenerates; other feedback is evaluated only; a run already going is joined; a second trigger finds nothing new', async () => {
    const suffix = uniqueSuffix();
    const [bad, good, busy] = [`re_bad_${suffix}`, `re_good_${suffix}`, `re_busy_${suffix}`];
    for (const name of [bad, good, busy]) await enhance(name);
    await recordFeedback(bad, {
      feedback_type: 'error',
      comments: 'TimeoutError: timed out',
      metrics: { error_rate: 0.4 },
    });
    await recordFeedback(good, { rating: 5, metrics: { success_rate: 0.99, error_rate: 0 } });
    await recordFeedback(busy, { feedback_type: 'error', comments: 'ValueError' });
    // A regeneration of busy v1 already under way (on a queue no worker polls): re-evaluation must not start a second.
    const running = await stack.client.workflow.start<typeof regenerateFromFeedback>(WORKFLOW_TYPES.regenerate, {
      taskQueue: `nobody-${suffix}`,
      workflowId: regenerateWorkflowId(sha256('default'), busy, 1),
      args: [{ tenant_id: 'default', function_name: busy, version: 1 }],
    });

    try {
      // Other test files' functions live in other schemas: only these three are in this stack's. One per page:
      // the first run evaluated one and continued as new.
      expect(await trigger()).toEqual({
        totals: { evaluated: 3, regenerated: 1, joined: 1, failed: 0 },
        firstRun: 'CONTINUED_AS_NEW',
      });
    } finally {
      await running.terminate('test over');
    }

    expect(await currentVersion(bad)).toBe(2);
    expect(await currentVersion(good)).toBe(1);
    expect(await currentVersion(busy)).toBe(1);

    const badEvents = await eventsOf(bad);
    expect(badEvents.find((e) => e.event_type === 'function.evaluated')?.payload).toMatchObject({
      version: 1,
      status: 'requires_update',
      outcome: 'regenerated',
    });
    expect(badEvents.find((e) => e.event_type === 'function.regenerated')?.payload).toMatchObject({
      version: 1,
      new_version: 2,
    });
    expect(badEvents.find((e) => e.event_type === 'version.created')?.payload).toMatchObject({
      version: 2,
      regenerated_from: 1,
    });

    const goodEvents = await eventsOf(good);
    expect(goodEvents.find((e) => e.event_type === 'function.evaluated')?.payload).toMatchObject({
      version: 1,
      status: 'accepted',
      outcome: 'accepted',
    });
    expect(goodEvents.map((e) => e.event_type)).not.toContain('function.regenerated');
    expect((await eventsOf(busy)).find((e) => e.event_type === 'function.evaluated')?.payload).toMatchObject({
      outcome: 'joined',
    });

    // No feedback since: nothing to evaluate, nothing regenerated, no new events.
    const counts = await Promise.all([bad, good].map(async (n) => (await eventsOf(n)).length));
    expect(await trigger()).toEqual({
      totals: { evaluated: 0, regenerated: 0, joined: 0, failed: 0 },
      firstRun: 'COMPLETED',
    });
    expect(await currentVersion(bad)).toBe(2);
    expect(await Promise.all([bad, good].map(async (n) => (await eventsOf(n)).length))).toEqual(counts);
  });

  test('pause and unpause show in GET, with their notes', async () => {
    const paused = await postJson(api(`/schedules/${scheduleId}/pause`), { note: 'maintenance window' });
    expect(paused.status).toBe(200);
    expect(paused.body.schedule).toMatchObject({ id: scheduleId, paused: true, note: 'maintenance window' });
    expect(await schedule()).toMatchObject({ paused: true, note: 'maintenance window' });

    const unpaused = await postJson(api(`/schedules/${scheduleId}/unpause`), {});
    expect(unpaused.status).toBe(200);
    expect(await schedule()).toMatchObject({ paused: false });
    expect((await schedule()).note).toMatch(/^unpaused by /);
  });

  test('an unknown id is a 404; a bad note a 400', async () => {
    for (const action of ['pause', 'unpause', 'trigger']) {
      const res = await postJson(api(`/schedules/nothing-${uniqueSuffix()}/${action}`), {});
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: {
          code: 'schedule_not_found',
          message: expect.stringMatching(/^no schedule with id nothing-/),
          category: 'input',
          severity: 'info',
        },
      });
    }
    const bad = await postJson(api(`/schedules/${scheduleId}/pause`), { note: 7 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  test('viewers and agents get 403, and so do operators of other tenants: schedules span every tenant', async () => {
    const callers = [
      await stack.createKey('default', 'viewer'),
      await stack.createKey('default', 'agent'),
      await stack.createKey(`other_${uniqueSuffix()}`, 'operator'),
    ];
    for (const key of callers) {
      const headers = { authorization: `Bearer ${key}` };
      expect((await getJson(api('/schedules'), headers)).status).toBe(403);
      for (const action of ['pause', 'unpause', 'trigger']) {
        const res = await postJson(api(`/schedules/${scheduleId}/${action}`), {}, headers);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
    }
    expect(await schedule()).toMatchObject({ paused: false });
    const operator = await stack.createKey('default', 'operator');
    expect((await getJson(api('/schedules'), { authorization: `Bearer ${operator}` })).status).toBe(200);
  });
});
