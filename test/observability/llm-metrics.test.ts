import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { sampleValue, scrape } from '../helpers/prometheus';
import { getJson, postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

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
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

test('tokens and cost per provider and model, circuit states, and an open circuit degrading readiness', async () => {
  const name = `inc_${uniqueSuffix()}`;
  const res = await postJson(`${stack.url}/api/v1/functions/enhance`, { function_name: name, original_code: `def ${name}(x: int) -> int:\n    return x + 1\n` });
  expect(res.status).toBe(200);
  expect(res.body.metadata.provider).toBe('steady');

  const samples = await scrape(stack.worker.http.url);
  const usage = await stack.pool.query<{ prompt: string; completion: string; cost: string }>(
    `SELECT sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, sum(cost_usd) AS cost FROM generations WHERE provider = 'steady'`,
  );
  const row = usage.rows[0]!;
  expect(Number(row.prompt)).toBeGreaterThan(0);
  expect(sampleValue(samples, 'poet_llm_tokens_total', { provider: 'steady', model: 'fake-large', direction: 'input' })).toBe(Number(row.prompt));
  expect(sampleValue(samples, 'poet_llm_tokens_total', { provider: 'steady', model: 'fake-large', direction: 'output' })).toBe(Number(row.completion));
  expect(sampleValue(samples, 'poet_generation_cost_dollars_total', { provider: 'steady', model: 'fake-large' })).toBeCloseTo(Number(row.cost), 8);
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
