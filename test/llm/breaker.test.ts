import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let fake: FakeLlm;
let stack: TestStack;

beforeAll(async () => {
  fake = await startFakeLlm();
  stack = await startStack('llmbreaker', {
    LLM_PROVIDERS: JSON.stringify([{ name: 'flaky', base_url: fake.url('error500'), model: 'fake' }]),
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

async function enhance() {
  const name = `inc_${uniqueSuffix()}`;
  return postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: name,
    original_code: `def ${name}(x: int) -> int:\n    return x + 1\n`,
  });
}

const outcomes = (attempts: { provider: string; outcome: string }[]) =>
  attempts.map((a) => `${a.provider}:${a.outcome}`);

test('the circuit opens after N consecutive failures and the chain moves on to the template at once', async () => {
  const first = await enhance();
  expect(first.status).toBe(200);
  // two 500s open the circuit; the third attempt finds it open (non-retryable) instead of spending 5 attempts
  expect(outcomes(first.body.metadata.attempts)).toEqual([
    'flaky:retryable_error',
    'flaky:retryable_error',
    'flaky:circuit_open',
    'template:accepted',
  ]);
  expect(first.body.metadata).toMatchObject({ provider: 'template', fallback: true, safety_level: 'high' });
  expect(fake.calls('error500')).toHaveLength(2);

  const second = await enhance();
  expect(second.status).toBe(200);
  expect(outcomes(second.body.metadata.attempts)).toEqual(['flaky:circuit_open', 'template:accepted']);
  expect(second.body.metadata.attempts[0].reason).toMatch(/circuit of provider flaky is open/);
  // an open circuit costs the provider nothing
  expect(fake.calls('error500')).toHaveLength(2);
  const costs = await stack.pool.query(`SELECT calls FROM costs WHERE provider = 'flaky'`);
  expect(costs.rows).toEqual([{ calls: 2 }]);
});
