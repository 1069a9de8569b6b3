import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unitBucket } from '../../src/app/resolution';
import { createLogger } from '../../src/infra/observability/logger';
import { startWorker, type RunningWorker } from '../../src/worker/worker';
import { runInVersionFolders } from '../helpers/field';
import { recordHistory } from '../helpers/workflow-env';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, until, type TestStack } from '../helpers/stack';

/**
 * The field, in one process: warms each version up, then makes the calls of argv[3] in order, each [i, a, b] a call
 * of fs[i] in the real runtime, which reports it (b = 0 raises ZeroDivisionError: a failed call). One process for
 * all versions, calls interleaved by unit, so both versions' latencies see the same machine.
 */
const CALLS = [
  'for g in fs:\n    for _ in range(5):\n        g(6, 3)',
  'for i, a, b in json.loads(sys.argv[3]):',
  '    try:\n        fs[i](a, b)\n    except ZeroDivisionError:\n        pass',
  'print(json.dumps(poet_runtime.report_stats()))',
];

const UNITS = Array.from({ length: 100 }, (_, i) => `unit-${i}`);
/** Calls each unit makes per round: at a 10 % share the candidate's ~10 units make about 80, over min_calls. */
const CALLS_PER_UNIT = 8;
const PLAN = { steps: [10, 50, 100], min_calls: 40, step_wait: 2, max_duration: 600 };

interface Rollout {
  status: string;
  share_percent: number;
  step_index: number;
  candidate_version: number;
  baseline_version: number;
  workflow_id: string;
  last_judgement: { verdict: string; candidate: { calls: number }; baseline: { calls: number } } | null;
}

describe('rollouts started by regeneration, judged on reports from the real python runtime', () => {
  let stack: TestStack;
  let reporter: string;
  const workers: RunningWorker[] = [];
  const api = (p: string) => `${stack.url}/api/v1${p}`;
  const enhance = (name: string, body = 'a / b') =>
    postJson(api('/functions/enhance'), {
      function_name: name,
      original_code: `def ${name}(a: float, b: float) -> float:\n    return ${body}\n`,
      context: { samples: [[6, 3]] },
    });
  const feedback = (name: string, version: number, over: Record<string, unknown>) =>
    postJson(api(`/functions/${name}/feedback`), {
      version,
      execution_id: `exec-${uniqueSuffix()}`,
      feedback_type: 'user',
      rating: 5,
      ...over,
    });
  /** Timeouts reported on the active version: Train regenerates it. */
  const timeouts = (name: string, version: number) =>
    feedback(name, version, { feedback_type: 'error', rating: 2, comments: 'TimeoutError: timed out after 30 s' });
  const rollout = async (name: string): Promise<Rollout> =>
    (await getJson(api(`/functions/${name}/rollouts/current`))).body;
  const activeVersion = async (name: string): Promise<number> =>
    (await getJson(api(`/functions/${name}`))).body.current_version;
  const resolveAll = async (name: string): Promise<Map<string, number>> => {
    const answers = new Map<string, number>();
    for (const unit of UNITS) {
      const answer = await getJson(api(`/functions/${name}/resolve?unit=${unit}`));
      answers.set(unit, answer.body.version);
    }
    return answers;
  };
  const eventsOf = async (name: string) =>
    (await getJson(api(`/functions/${name}/events?limit=100`))).body.events as Array<{
      event_type: string;
      payload: Record<string, unknown>;
    }>;

  /**
   * One round of field traffic: every unit resolves its version and calls it CALLS_PER_UNIT times in python3, a
   * `failRate` share of each version's calls dividing by zero. Answers the units' versions.
   */
  async function fieldRound(name: string, failRate: Record<number, number>) {
    const assigned = await resolveAll(name);
    // Whether the share held while the units resolved (a judgement may move it meanwhile on a loaded machine).
    const after = await rollout(name);
    const versions = [...new Set(assigned.values())];
    const made = new Map<number, number>();
    // Each unit's calls in turn; a version's failures spread evenly over its calls.
    const calls = [...assigned.values()].flatMap((version) =>
      Array.from({ length: CALLS_PER_UNIT }, () => {
        const k = made.get(version) ?? 0;
        made.set(version, k + 1);
        const rate = failRate[version] ?? 0;
        const fails = Math.floor((k + 1) * rate) > Math.floor(k * rate);
        return [versions.indexOf(version), 6, fails ? 0 : 3];
      }),
    );
    const dirs = versions.map((version) => path.join(stack.config.dataDir, 'functions', name, `v${version}`));
    const stats = await runInVersionFolders(dirs, name, CALLS, {
      args: [JSON.stringify(calls)],
      env: { POET_REPORT_URL: stack.url, POET_REPORT_KEY: reporter },
    });
    // Flushed at exit: every call reached the API.
    expect(stats).toMatchObject({ enabled: true, dropped: 0, rejected: 0 });
    return { assigned, after };
  }

  /**
   * Field rounds while the rollout runs: a round at each share it reaches (again when a judgement found too few
   * calls), until it ends. Answers the shares seen, with each one's unit assignment, and the ended rollout.
   */
  async function drive(name: string, failRate: Record<number, number>, stepWait: number) {
    const seen: Array<{ share: number; assigned: Map<string, number> }> = [];
    for (;;) {
      const state = await rollout(name);
      if (state.status !== 'running') return { seen, ended: state };
      const { assigned, after } = await fieldRound(name, failRate);
      const held = after.status === 'running' && after.share_percent === state.share_percent;
      if (held && seen.at(-1)?.share !== state.share_percent) seen.push({ share: state.share_percent, assigned });
      // Wait for the judgement: the step's timer, then a decision (or another interval, short of calls).
      await until(
        'the next judgement',
        async () => {
          const now = await rollout(name);
          return now.status !== 'running' || now.share_percent !== state.share_percent ? now : undefined;
        },
        (stepWait + 2) * 1000,
      ).catch(() => undefined);
    }
  }

  /** The units the assignment gives the candidate are exactly those whose bucket is under the share. */
  const expectShare = (name: string, share: number, assigned: Map<string, number>, candidate: number) => {
    for (const [unit, version] of assigned)
      expect([unit, version === candidate]).toEqual([unit, unitBucket('default', name, unit) < share * 100]);
  };

  beforeAll(async () => {
    stack = await startStack('rollout_field', {
      RATE_LIMIT_TENANT_REPORTS_PER_MINUTE: '1000000',
      // Every payload inline: the recorded regeneration history replays without the payload store.
      PAYLOAD_CLAIM_CHECK_BYTES: '100000000',
    });
    reporter = await stack.createKey('default', 'reporter');
  });
  afterAll(async () => {
    for (const worker of workers) await worker.shutdown();
    await stack.close();
  });

  test('tenant settings: defaults, a rollout plan set and read back, bad plans refused with 400', async () => {
    expect((await getJson(api('/tenant/settings'))).body).toEqual({ rollout: null });
    for (const bad of [
      { rollout: { steps: [50, 25, 100] } },
      { rollout: { steps: [5, 25, 50] } },
      { rollout: { steps: [5, 100], min_calls: 0 } },
      { rollout: { steps: [5, 100], extra: 1 } },
      { rolout: null },
    ]) {
      const refused = await requestJson('PUT', api('/tenant/settings'), bad);
      expect([refused.status, refused.body.error.code]).toEqual([400, 'invalid_request']);
    }
    const viewer = { authorization: `Bearer ${await stack.createKey('default', 'viewer')}` };
    expect((await requestJson('PUT', api('/tenant/settings'), { rollout: PLAN }, viewer)).status).toBe(403);

    const put = await requestJson('PUT', api('/tenant/settings'), { rollout: PLAN });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ rollout: PLAN });
    expect((await getJson(api('/tenant/settings'), viewer)).body).toEqual({ rollout: PLAN });
    // Defaults fill what a plan leaves out.
    const partial = await requestJson('PUT', api('/tenant/settings'), { rollout: { steps: [10, 100] } });
    expect(partial.body.rollout).toEqual({ steps: [10, 100], min_calls: 200, step_wait: 900, max_duration: 86_400 });
    expect((await requestJson('PUT', api('/tenant/settings'), { rollout: PLAN })).status).toBe(200);
  });

  test('a better candidate is promoted through every step on the field reports, its units sticky', async () => {
    const name = `div_up_${uniqueSuffix()}`;
    expect((await enhance(name)).body.version).toBe(1);
    expect((await enhance(name, 'float(a) / b')).body.version).toBe(2);
    expect((await postJson(api(`/functions/${name}/versions/1/activate`), {})).status).toBe(200);
    // Steps long enough for a round of traffic at each share before its judgement, also on a loaded machine.
    const stepWait = 4;
    const started = await postJson(api(`/functions/${name}/rollouts`), {
      ...PLAN,
      step_wait: stepWait,
      candidate_version: 2,
    });
    expect(started.status).toBe(201);
    await until('the rollout at its first step', async () =>
      (await rollout(name)).share_percent === 10 ? true : undefined,
    );

    // The baseline fails 10 % of its calls, the candidate none.
    const { seen, ended } = await drive(name, { 1: 0.1, 2: 0 }, stepWait);
    expect(ended).toMatchObject({ status: 'promoted', share_percent: 100, last_judgement: { verdict: 'advance' } });
    expect(seen.map((s) => s.share)).toEqual([10, 50]);
    for (const { share, assigned } of seen) expectShare(name, share, assigned, 2);
    // Sticky: a unit on the candidate at 10 % is still on it at 50 %, and everyone is after the promotion.
    const early = [...seen[0]!.assigned].filter(([, v]) => v === 2).map(([unit]) => unit);
    expect(early.length).toBeGreaterThan(0);
    for (const unit of early) expect([unit, seen[1]!.assigned.get(unit)]).toEqual([unit, 2]);
    expect(new Set((await resolveAll(name)).values())).toEqual(new Set([2]));
    expect(await activeVersion(name)).toBe(2);
    const types = await until('the promotion events', async () => {
      const all = (await eventsOf(name)).map((e) => e.event_type);
      return all.includes('version.activated') ? all : undefined;
    });
    expect(types).toEqual(expect.arrayContaining(['rollout.started', 'rollout.advanced', 'rollout.promoted']));
  });

  test('a worse regenerated candidate: stored inactive, rolled out from regeneration, rolled back within its first step', async () => {
    const name = `div_down_${uniqueSuffix()}`;
    expect((await enhance(name)).body.version).toBe(1);
    const regenerated = await timeouts(name, 1);
    expect(regenerated.body).toMatchObject({ status: 'requires_update', new_version: 2 });
    // Stored, not activated: the rollout exposes it.
    expect(await activeVersion(name)).toBe(1);
    const started = await until('the rollout at its first step', async () => {
      const state = await rollout(name);
      return state.share_percent === 10 ? state : undefined;
    });
    expect(started).toMatchObject({ candidate_version: 2, baseline_version: 1, steps: PLAN.steps });
    const created = (await eventsOf(name)).find((e) => e.event_type === 'version.created' && e.payload.version === 2);
    expect(created?.payload).toMatchObject({ regenerated_from: 1, rollout_started: true });
    await recordHistory(stack.client.workflow.getHandle(regenerated.body.run.workflow_id), 'regenerate-rollout');

    // The candidate fails half its calls, the baseline none.
    const { seen, ended } = await drive(name, { 1: 0, 2: 0.5 }, PLAN.step_wait);
    expect(ended).toMatchObject({ status: 'rolled_back', share_percent: 0, step_index: 0 });
    expect(ended.last_judgement).toMatchObject({ verdict: 'worse' });
    // Never past the first step's share: exactly the units under 10 % ran the candidate.
    expect(seen.map((s) => s.share)).toEqual([10]);
    expectShare(name, 10, seen[0]!.assigned, 2);
    const exposed = [...seen[0]!.assigned.values()].filter((v) => v === 2).length;
    expect(exposed).toBeGreaterThan(0);
    expect(new Set((await resolveAll(name)).values())).toEqual(new Set([1]));
    expect(await activeVersion(name)).toBe(1);
    const rolledBack = (await eventsOf(name)).find((e) => e.event_type === 'rollout.rolled_back')!;
    expect(rolledBack.payload).toMatchObject({ reason: 'worse', share_percent: 10 });
  });

  test("a candidate failing the function's feedback examples is rolled back before any unit runs it", async () => {
    const name = `div_ex_${uniqueSuffix()}`;
    expect((await enhance(name)).body.version).toBe(1);
    expect((await enhance(name, 'a // b')).body.version).toBe(2);
    expect((await postJson(api(`/functions/${name}/versions/1/activate`), {})).status).toBe(200);
    // True division expected: version 1 passes it, version 2 (floor division) does not.
    const example = await feedback(name, 1, { examples: [{ args: [7, 2], expected: 3.5 }] });
    expect(example.status).toBe(200);

    const started = await postJson(api(`/functions/${name}/rollouts`), { ...PLAN, candidate_version: 2 });
    expect(started.status).toBe(201);
    const ended = await until('the rollback', async () => {
      const state = await rollout(name);
      return state.status === 'rolled_back' ? state : undefined;
    });
    expect(ended).toMatchObject({ share_percent: 0, step_index: 0, last_judgement: null });
    const types = (await eventsOf(name)).map((e) => e.event_type);
    expect(types).not.toContain('rollout.started');
    const rolledBack = (await eventsOf(name)).find((e) => e.event_type === 'rollout.rolled_back')!;
    expect(rolledBack.payload).toMatchObject({
      reason: 'shadow_validation_failed',
      share_percent: 0,
      shadow: {
        passed: false,
        failing_examples: [{ call: { args: [7, 2], kwargs: {} }, expected: expect.stringContaining('3.5') }],
      },
    });
    expect((rolledBack.payload.shadow as { reason: string }).reason).toMatch(/feedback example .*\[7,\s?2\]/);
    expect(await activeVersion(name)).toBe(1);
  });

  test('a paused rollout stays paused across a worker restart; resumed it runs again, and abort keeps the baseline', async () => {
    const name = `div_pause_${uniqueSuffix()}`;
    expect((await enhance(name)).body.version).toBe(1);
    expect((await enhance(name, 'float(a) / b')).body.version).toBe(2);
    expect((await postJson(api(`/functions/${name}/versions/1/activate`), {})).status).toBe(200);
    // Never enough calls to judge: the rollout waits step after step until it is told otherwise.
    const plan = { ...PLAN, candidate_version: 2, min_calls: 1_000_000, step_wait: 1 };
    expect((await postJson(api(`/functions/${name}/rollouts`), plan)).status).toBe(201);
    await until('the first step', async () => ((await rollout(name)).share_percent === 10 ? true : undefined));

    const paused = await postJson(api(`/functions/${name}/rollouts/current/pause`), {});
    expect(paused.body).toMatchObject({ status: 'paused', share_percent: 10 });
    await stack.worker.shutdown();
    const logger = createLogger({ level: 'error', service: 'test-rollout-restart', silent: true });
    workers.push(await startWorker(stack.config, logger));
    // Several step intervals later, on the new worker, it is still paused where it was.
    await sleep(3000);
    expect(await rollout(name)).toMatchObject({ status: 'paused', share_percent: 10, step_index: 0 });
    const row = await stack.pool.query('SELECT status, share_percent FROM function_rollouts WHERE function_name = $1', [
      name,
    ]);
    expect(row.rows).toEqual([{ status: 'paused', share_percent: 10 }]);
    const under = UNITS.find((u) => unitBucket('default', name, u) < 1000)!;
    expect((await getJson(api(`/functions/${name}/resolve?unit=${under}`))).body.version).toBe(2);

    const resumed = await postJson(api(`/functions/${name}/rollouts/current/resume`), {});
    expect(resumed.body).toMatchObject({ status: 'running', share_percent: 10 });
    // Running again on the new worker, its timer and judgements going on (still short of calls).
    await sleep(1500);
    expect(await rollout(name)).toMatchObject({
      status: 'running',
      share_percent: 10,
      last_judgement: { verdict: 'insufficient_calls' },
    });
    const aborted = await postJson(api(`/functions/${name}/rollouts/current/abort`), {});
    expect(aborted.body).toMatchObject({ status: 'aborted', share_percent: 0 });
    expect(await activeVersion(name)).toBe(1);
    expect((await getJson(api(`/functions/${name}/resolve?unit=${under}`))).body.version).toBe(1);
    const types = (await eventsOf(name)).map((e) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['rollout.paused', 'rollout.resumed']));
  });
});
