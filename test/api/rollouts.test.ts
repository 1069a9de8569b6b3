import { unitBucket } from '../../src/app/resolution';
import { getJson, postJson, startStack, uniqueSuffix, until, type TestStack } from '../helpers/stack';

describe('a rollout over the real stack: resolve follows its share, field reports decide it', () => {
  let stack: TestStack;
  let name: string;
  const api = (p: string) => `${stack.url}/api/v1${p}`;
  const enhance = (body: string) =>
    postJson(api('/functions/enhance'), {
      function_name: name,
      original_code: `def ${name}(a: float, b: float) -> float:\n    return ${body}\n`,
      context: { samples: [[6, 3]] },
    });
  const resolve = async (unit: string) =>
    (await getJson(api(`/functions/${name}/resolve?unit=${encodeURIComponent(unit)}`))).body;
  const report = (version: number, calls: number, failures: number) =>
    postJson(api('/outcomes'), {
      reports: Array.from({ length: calls }, (_, i) => ({
        function_name: name,
        version,
        success: i >= failures,
        exception_type: i >= failures ? null : 'ZeroDivisionError',
        latency_ms: 2,
        attempts: 1,
      })),
    });

  beforeAll(async () => {
    stack = await startStack('rollouts');
    name = `div_${uniqueSuffix()}`;
    expect((await enhance('a / b')).body.version).toBe(1);
    expect((await enhance('float(a) / b')).body.version).toBe(2);
    // Version 1 is the baseline, version 2 the candidate.
    expect((await postJson(api(`/functions/${name}/versions/1/activate`), {})).status).toBe(200);
  });
  afterAll(() => stack.close());

  test('units under the share get the candidate and keep it; a candidate failing half its calls is rolled back', async () => {
    const started = await postJson(api(`/functions/${name}/rollouts`), {
      candidate_version: 2,
      steps: [10, 50, 100],
      min_calls: 40,
      step_wait: 2,
      max_duration: 600,
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ function_name: name, candidate_version: 2, baseline_version: 1 });
    expect(started.headers.get('location')).toBe(`/api/v1/functions/${name}/rollouts/current`);
    const again = await postJson(api(`/functions/${name}/rollouts`), { candidate_version: 2 });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('rollout_running');

    await until('the first step recorded', async () => {
      const current = await getJson(api(`/functions/${name}/rollouts/current`));
      return current.body.share_percent === 10 ? current.body : undefined;
    });
    // The first units below bucket 1000 (10 %) and at or above it.
    const units = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const under = units.find((u) => unitBucket('default', name, u) < 1000)!;
    const over = units.find((u) => unitBucket('default', name, u) >= 1000)!;
    expect(await resolve(under)).toMatchObject({ version: 2, reason: 'rollout' });
    expect(await resolve(over)).toMatchObject({ version: 1, reason: 'active' });
    expect(await resolve(under)).toMatchObject({ version: 2, bucket: unitBucket('default', name, under) });

    expect((await report(1, 50, 0)).body).toEqual({ accepted: 50, rejected: [] });
    expect((await report(2, 50, 25)).body).toEqual({ accepted: 50, rejected: [] });

    const ended = await until('the rollback', async () => {
      const current = await getJson(api(`/functions/${name}/rollouts/current`));
      return current.body.status === 'rolled_back' ? current.body : undefined;
    });
    expect(ended).toMatchObject({
      share_percent: 0,
      step_index: 0,
      last_judgement: {
        verdict: 'worse',
        candidate: { version: 2, calls: 50, successes: 25 },
        baseline: { version: 1, calls: 50, successes: 50 },
      },
    });
    // Every unit is back on the baseline, which stayed active throughout.
    expect(await resolve(under)).toMatchObject({ version: 1, reason: 'active' });
    expect((await getJson(api(`/functions/${name}`))).body.current_version).toBe(1);

    const events = await until('the rollout events', async () => {
      const answer = await getJson(api(`/functions/${name}/events?limit=50`));
      const types = answer.body.events.map((e: { event_type: string }) => e.event_type);
      return types.includes('rollout.rolled_back') ? answer.body.events : undefined;
    });
    const rolledBack = events.find((e: { event_type: string }) => e.event_type === 'rollout.rolled_back');
    expect(rolledBack.payload).toMatchObject({ reason: 'worse', share_percent: 10, judgement: { verdict: 'worse' } });

    const late = await postJson(api(`/functions/${name}/rollouts/current/pause`), {});
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('rollout_ended');
  });
});
