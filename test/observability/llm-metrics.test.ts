import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { sampleValue, scrape } from '../helpers/prometheus';
import { getJson, postJson, startStack, uniqueSuffix, until, type TestStack } from '../helpers/stack';

/** The worker's LLM metrics and readiness against a fake OpenAI-compatible provider chain: one failing, one good. */
let fake: FakeLlm;
let stack: TestStack;

beforeAll(async () => {
  fake = await startFakeLlm();
  stack = await startStack('llm_metrics', {
    LLM_PROVIDERS: JSON.stringify([
      { name: 'flaky', base_url: fake.url('error500'), model: 'fake-x' },
      { name: 'steady', base_url: fake.url('good'), model: 'fake-large', price_in_per_1k: 0.5, price_out_per_1k: 1.5 },
    ]),
    LLM_BREAKER_FAILURES: '2',
    LLM_BREAKER_HALF_OPEN_SECONDS: '600',
    LLM_RETRY_BASE_MS: '50',
    LLM_MAX_ATTEMPTS: '5',
    CIRCUIT_REPORT_SECONDS: '1',
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

test('tokens and cost per provider and model, circuit states, and an open circuit degrading readiness', async () => {
  const name = `inc_${uniqueSuffix()}`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: `def ${name}(x: int) -> int:\n    return x + 1\n`,
  });
  expect(res.status).toBe(200);
  expect(res.body.metadata.provider).toBe('steady');

  const samples = await scrape(stack.worker.http.url);
  const usage = await stack.pool.query<{ prompt: string; completion: string; cost: string }>(
    `SELECT sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, sum(cost_usd) AS cost FROM generations WHERE provider = 'steady'`,
  );
  const row = usage.rows[0]!;
  expect(Number(row.prompt)).toBeGreaterThan(0);
  expect(
    sampleValue(samples, 'poet_llm_tokens_total', { provider: 'steady', model: 'fake-large', direction: 'input' }),
  ).toBe(Number(row.prompt));
  expect(
    sampleValue(samples, 'poet_llm_tokens_total', { provider: 'steady', model: 'fake-large', direction: 'output' }),
  ).toBe(Number(row.completion));
  expect(
    sampleValue(samples, 'poet_generation_cost_dollars_total', { provider: 'steady', model: 'fake-large' }),
  ).toBeCloseTo(Number(row.cost), 8);
  expect(sampleValue(samples, 'poet_circuit_breaker_state', { provider: 'flaky' })).toBe(2);
  expect(sampleValue(samples, 'poet_circuit_breaker_state', { provider: 'steady' })).toBe(0);

  const ready = await getJson(`${stack.worker.http.url}/health/ready`);
  expect(ready.status).toBe(200);
  expect(ready.body.status).toBe('degraded');
  expect(ready.body.checks.llm).toMatchObject({
    status: 'degraded',
    error: 'circuit open: flaky',
    details: { providers: { flaky: 'open', steady: 'closed' } },
  });
});

test('the API, which makes no LLM calls, reports the circuit states its workers share, and forgets a stopped worker', async () => {
  // The previous test opened flaky's circuit on this stack's worker.
  const ready = await until('the API to see the open circuit', async () => {
    const res = await getJson(`${stack.url}/health/ready`);
    return res.body.checks.llm.details?.providers?.flaky === 'open' ? res : undefined;
  });
  expect(ready.status).toBe(200);
  expect(ready.body.checks.llm).toMatchObject({
    status: 'degraded',
    error: 'circuit open: flaky',
    details: { providers: { flaky: 'open', steady: 'closed' } },
  });

  // Another worker that still sees flaky closed does not hide it: the worst state wins.
  await stack.pool.query(
    `INSERT INTO circuit_states (worker_id, provider, state) VALUES ('other', 'flaky', 'closed'), ('other', 'spare', 'half_open')`,
  );
  const merged = await getJson(`${stack.url}/health/ready`);
  expect(merged.body.checks.llm.details.providers).toEqual({ flaky: 'open', spare: 'half_open', steady: 'closed' });

  // Reports older than three periods no longer count.
  await stack.pool.query(
    `UPDATE circuit_states SET updated_at = now() - interval '1 minute' WHERE worker_id = 'other'`,
  );
  const aged = await getJson(`${stack.url}/health/ready`);
  expect(aged.body.checks.llm.details.providers).toEqual({ flaky: 'open', steady: 'closed' });

  await stack.worker.shutdown();
  const left = await stack.pool.query<{ worker_id: string }>('SELECT DISTINCT worker_id FROM circuit_states');
  expect(left.rows.map((r) => r.worker_id)).toEqual(['other']);
});
