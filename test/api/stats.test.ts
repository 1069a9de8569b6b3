import { insertGenerations, type GenerationRow } from '../helpers/generations';
import { getJson, startStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('stats');
});
afterAll(() => stack.close());

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const gen = (
  over: Partial<GenerationRow> & Pick<GenerationRow, 'provider' | 'domain' | 'latency_ms'>,
): GenerationRow => ({
  prompt_tokens: 100,
  completion_tokens: 50,
  cost_usd: 0.01,
  outcome: 'answered',
  ...over,
});

test("duration percentiles, success rate, cost and tokens per domain and provider, for the caller's tenant and window only", async () => {
  const openaiLatencies = [120, 340, 560, 800, 1500, 4200];
  const rows: GenerationRow[] = [
    ...openaiLatencies.map((latency_ms, i) =>
      gen({ provider: 'openai', domain: 'computation', latency_ms, outcome: i === 5 ? 'retryable_error' : 'answered' }),
    ),
    gen({
      provider: 'groq',
      domain: 'computation',
      latency_ms: 5,
      cost_usd: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      outcome: 'bad_answer',
    }),
    gen({ provider: 'groq', domain: 'healthcare', latency_ms: 7, cost_usd: 0, prompt_tokens: 0, completion_tokens: 0 }),
    // Outside the 24 h window, another tenant's, and a call an open circuit skipped: none counts.
    gen({ provider: 'openai', domain: 'computation', latency_ms: 99_999, age_hours: 30 }),
    gen({ provider: 'openai', domain: 'computation', latency_ms: 99_999, tenant_id: 'someone-else' }),
    gen({ provider: 'openai', domain: 'computation', latency_ms: 0, outcome: 'circuit_open' }),
  ];
  await insertGenerations(stack.pool, rows);

  const res = await getJson(`${stack.url}/api/v1/stats?window=24h`);
  expect(res.status).toBe(200);
  const body = res.body;
  expect(body.window).toBe('24h');
  expect(Date.parse(body.to) - Date.parse(body.from)).toBe(24 * 3600 * 1000);

  expect(body.totals).toMatchObject({
    generations: 8,
    success_rate: 0.75,
    cost_usd: 0.06,
    tokens: { input: 600, output: 300 },
  });
  const openai = body.by_provider.find((g: { provider: string }) => g.provider === 'openai');
  expect(openai).toMatchObject({ generations: 6, success_rate: Number((5 / 6).toFixed(4)), cost_usd: 0.06 });
  for (const [key, p] of [
    ['p50', 0.5],
    ['p95', 0.95],
    ['p99', 0.99],
  ] as const) {
    expect(openai.duration_ms[key]).toBeCloseTo(percentile(openaiLatencies, p), 1);
  }
  expect(body.by_domain.map((g: { domain: string; generations: number }) => [g.domain, g.generations])).toEqual([
    ['computation', 7],
    ['healthcare', 1],
  ]);
  expect(body.by_provider.map((g: { provider: string }) => g.provider)).toEqual(['groq', 'openai']);

  const hour = await getJson(`${stack.url}/api/v1/stats?window=1h`);
  expect(hour.body.totals.generations).toBe(8);
  const month = await getJson(`${stack.url}/api/v1/stats?window=30d`);
  expect(month.body.totals.generations).toBe(9);
});

test('calls recorded before the domain column existed count under "unknown"', async () => {
  await stack.pool.query('DELETE FROM generations');
  await insertGenerations(stack.pool, [gen({ provider: 'openai', domain: null, latency_ms: 10 })]);
  const res = await getJson(`${stack.url}/api/v1/stats`);
  expect(res.body.by_domain).toEqual([expect.objectContaining({ domain: 'unknown', generations: 1 })]);
});

test('an empty window answers zeros and nulls; the default window is 24 h', async () => {
  await stack.pool.query('DELETE FROM generations');
  const res = await getJson(`${stack.url}/api/v1/stats`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    window: '24h',
    totals: {
      generations: 0,
      success_rate: null,
      duration_ms: { p50: null, p95: null, p99: null },
      cost_usd: 0,
      tokens: { input: 0, output: 0 },
    },
    by_domain: [],
    by_provider: [],
  });
});

test.each([['window=forever'], ['window=24h&extra=1'], ['window=24h&window=1h']])(
  '?%s answers 400 with the offending parameter',
  async (query) => {
    const res = await getJson(`${stack.url}/api/v1/stats?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.details[0].path).toMatch(/^query/);
  },
);
