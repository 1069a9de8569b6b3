import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

/** LLM_DAILY_BUDGET_USD: once a tenant's spend today reaches it, its runs skip the providers and the template serves. */
let fake: FakeLlm;
let stack: TestStack;

beforeAll(async () => {
  fake = await startFakeLlm();
  stack = await startStack('llmbudget', {
    // Priced so that one call costs more than the whole budget.
    LLM_PROVIDERS: JSON.stringify([
      { name: 'priced', base_url: fake.url('good'), model: 'fake-large', price_in_per_1k: 50, price_out_per_1k: 50 },
    ]),
    LLM_DAILY_BUDGET_USD: '0.5',
  });
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

async function enhance(headers: Record<string, string> = {}) {
  const name = `inc_${uniqueSuffix()}`;
  return postJson(
    `${stack.url}/api/v1/functions/enhance`,
    { function_name: name, original_code: `def ${name}(x: int) -> int:\n    return x + 1\n` },
    headers,
  );
}

const outcomes = (attempts: { provider: string; outcome: string }[]) =>
  attempts.map((a) => `${a.provider}:${a.outcome}`);

test('a tenant over its daily budget gets the template without a provider call; other tenants are not affected', async () => {
  const first = await enhance();
  expect(first.status).toBe(200);
  expect(first.body.metadata).toMatchObject({ provider: 'priced', fallback: false });
  expect(first.body.metadata.usage.cost_usd).toBeGreaterThan(0.5);
  const callsBefore = fake.calls('good').length;

  const second = await enhance();
  expect(second.status).toBe(200);
  expect(outcomes(second.body.metadata.attempts)).toEqual(['priced:over_budget', 'template:accepted']);
  expect(second.body.metadata.attempts[0].reason).toMatch(/daily LLM budget of \$0\.5 is spent/);
  expect(second.body.metadata).toMatchObject({ provider: 'template', fallback: true });
  expect(second.body.metadata.usage).toMatchObject({ calls: 0, cost_usd: 0 });
  expect(fake.calls('good')).toHaveLength(callsBefore);

  // The refusal is on record but is neither a call nor spend.
  const costs = await stack.pool.query<{ calls: number }>(
    `SELECT calls FROM costs WHERE tenant_id = 'default' AND provider = 'priced'`,
  );
  expect(costs.rows).toEqual([{ calls: 1 }]);
  const refused = await stack.pool.query(
    `SELECT 1 FROM generations WHERE tenant_id = 'default' AND outcome = 'over_budget'`,
  );
  expect(refused.rowCount).toBe(1);

  const otherKey = await stack.createKey(`budget_${uniqueSuffix()}`, 'agent');
  const other = await enhance({ authorization: `Bearer ${otherKey}` });
  expect(other.status).toBe(200);
  expect(other.body.metadata).toMatchObject({ provider: 'priced', fallback: false });
});
