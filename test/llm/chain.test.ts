import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let fake: FakeLlm;
let stack: TestStack;
let enhanceUrl: string;

const PRICE_IN = 0.5;
const PRICE_OUT = 1.5;

beforeAll(async () => {
  fake = await startFakeLlm();
  stack = await startStack('llmchain', {
    FAKE_PRIMARY_KEY: 'sk-fake-primary',
    LLM_PROVIDERS: JSON.stringify([
      // behaves as the function name's prefix says
      {
        name: 'primary',
        base_url: fake.url('byname'),
        model: 'fake-large',
        api_key_env: 'FAKE_PRIMARY_KEY',
        price_in_per_1k: PRICE_IN,
        price_out_per_1k: PRICE_OUT,
        timeout_ms: 700,
      },
      { name: 'backup', base_url: fake.url('good'), model: 'fake-small' },
    ]),
    // this file is about the chain; the breaker has its own file
    LLM_BREAKER_FAILURES: '100',
    LLM_RETRY_BASE_MS: '100',
    LLM_MAX_ATTEMPTS: '3',
  });
  enhanceUrl = `${stack.url}/api/v1/functions/enhance`;
});
afterAll(async () => {
  await stack.close();
  await fake.close();
});

const codeFor = (name: string) =>
  `def ${name}(a: int, b: int = 2) -> int:\n    """Add."""\n    if a < 0:\n        raise ValueError("negative")\n    return a + b\n`;

async function enhance(prefix: string) {
  const name = `${prefix}_${uniqueSuffix()}`;
  const res = await postJson(enhanceUrl, {
    function_name: name,
    original_code: codeFor(name),
    context: { samples: [[1, 2], [3], [-1]] },
  });
  return { name, res };
}

const outcomes = (attempts: { provider: string; outcome: string }[]) =>
  attempts.map((a) => `${a.provider}:${a.outcome}`);

async function storedProvider(name: string): Promise<string[]> {
  const rows = await stack.pool.query<{ provider: string }>(
    `SELECT provider FROM versions WHERE function_name = $1 AND status = 'active'`,
    [name],
  );
  return rows.rows.map((r) => r.provider);
}

describe('LLM provider chain', () => {
  test('a good answer is used, with tokens, cost and latency recorded in metadata, generations and costs', async () => {
    const { name, res } = await enhance('good');
    expect(res.status).toBe(200);
    const { metadata } = res.body;
    expect(metadata).toMatchObject({
      provider: 'primary',
      fallback: false,
      safety_level: 'high',
      enhancer_version: 'llm:fake-large',
    });
    // the model configures: its settings and its hook are in the module the service wrote around the original
    expect(res.body.enhanced_code.python).toContain('"retries": 2,');
    expect(res.body.enhanced_code.python).toContain(' = poet(POET_PARAMS, perceive=poet_perceive_hook)(');
    expect(outcomes(metadata.attempts)).toEqual(['primary:accepted']);
    const [attempt] = metadata.attempts;
    expect(attempt.prompt_tokens).toBeGreaterThan(100);
    expect(attempt.completion_tokens).toBeGreaterThan(10);
    expect(attempt.cost_usd).toBeCloseTo(
      (attempt.prompt_tokens / 1000) * PRICE_IN + (attempt.completion_tokens / 1000) * PRICE_OUT,
      8,
    );
    expect(metadata.usage).toMatchObject({
      calls: 1,
      prompt_tokens: attempt.prompt_tokens,
      cost_usd: attempt.cost_usd,
    });

    const call = fake.calls('byname').find((c) => c.body.messages[1]!.content.includes(name))!;
    expect(call.body.model).toBe('fake-large');
    expect(call.body.response_format).toEqual({ type: 'json_object' });

    const generations = await stack.pool.query(
      'SELECT provider, model, outcome, prompt_tokens, cost_usd::float8 AS cost FROM generations WHERE function_name = $1',
      [name],
    );
    expect(generations.rows).toEqual([
      {
        provider: 'primary',
        model: 'fake-large',
        outcome: 'answered',
        prompt_tokens: attempt.prompt_tokens,
        cost: attempt.cost_usd,
      },
    ]);
    const costs = await stack.pool.query(
      `SELECT calls, cost_usd::float8 AS cost FROM costs WHERE tenant_id = 'default' AND provider = 'primary'`,
    );
    expect(costs.rows[0].calls).toBeGreaterThanOrEqual(1);
    expect(costs.rows[0].cost).toBeGreaterThanOrEqual(attempt.cost_usd);
    expect(await storedProvider(name)).toEqual(['primary']);
  });

  test('broken code goes back to the model with the validation errors and the repaired answer is used', async () => {
    const { name, res } = await enhance('repair');
    expect(res.status).toBe(200);
    expect(res.body.metadata).toMatchObject({ provider: 'primary', fallback: false });
    expect(res.body.metadata.attempts.map((a: { outcome: string; round: number }) => [a.outcome, a.round])).toEqual([
      ['invalid', 0],
      ['accepted', 1],
    ]);
    expect(res.body.metadata.attempts[0].reason).toMatch(/compile: SyntaxError/);
    const calls = fake.calls('byname').filter((c) => c.body.messages[1]!.content.includes(name));
    expect(calls).toHaveLength(2);
    const repairPrompt = calls[1]!.body.messages;
    expect(repairPrompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(repairPrompt[3]!.content).toMatch(/<validation_errors>[\s\S]*SyntaxError/);
  });

  test('a 429 is retried on the same provider after its Retry-After', async () => {
    const { name, res } = await enhance('ratelimit');
    expect(res.status).toBe(200);
    expect(res.body.metadata.provider).toBe('primary');
    expect(outcomes(res.body.metadata.attempts)).toEqual(['primary:retryable_error', 'primary:accepted']);
    expect(res.body.metadata.attempts[0].reason).toMatch(/^rate_limit: HTTP 429/);
    const calls = fake.calls('byname').filter((c) => c.body.messages[1]!.content.includes(name));
    expect(calls).toHaveLength(2);
    // Retry-After: 1 became Temporal's next retry delay (the configured backoff base is 100 ms)
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
  });

  test.each([
    ['error500', /^server: HTTP 500/],
    ['hang', /^timeout: /],
  ])('%s: transient faults are retried, then the next provider answers', async (prefix, reason) => {
    const { name, res } = await enhance(prefix);
    expect(res.status).toBe(200);
    expect(res.body.metadata).toMatchObject({ provider: 'backup', fallback: true });
    expect(outcomes(res.body.metadata.attempts)).toEqual([
      'primary:retryable_error',
      'primary:retryable_error',
      'primary:retryable_error',
      'backup:accepted',
    ]);
    expect(res.body.metadata.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3, 1]);
    expect(res.body.metadata.attempts[0].reason).toMatch(reason);
    expect(await storedProvider(name)).toEqual(['backup']);
  });

  test('an auth failure is not retried: the next provider answers at once', async () => {
    const { name, res } = await enhance('auth');
    expect(res.status).toBe(200);
    expect(outcomes(res.body.metadata.attempts)).toEqual(['primary:failed', 'backup:accepted']);
    expect(res.body.metadata.attempts[0].reason).toMatch(/^auth: HTTP 401/);
    expect(fake.calls('byname').filter((c) => c.body.messages[1]!.content.includes(name))).toHaveLength(1);
  });

  test('malformed JSON uses up the repair rounds, then the next provider answers', async () => {
    const { res } = await enhance('malformed');
    expect(res.status).toBe(200);
    expect(
      res.body.metadata.attempts.map((a: { provider: string; outcome: string; round: number }) => [
        a.provider,
        a.outcome,
        a.round,
      ]),
    ).toEqual([
      ['primary', 'bad_answer', 0],
      ['primary', 'bad_answer', 1],
      ['primary', 'bad_answer', 2],
      ['backup', 'accepted', 0],
    ]);
    expect(res.body.metadata.attempts[0].reason).toMatch(/not valid JSON/);
  });

  test('blocked code from a model is never stored: repairs, then the next provider', async () => {
    const { name, res } = await enhance('blocked');
    expect(res.status).toBe(200);
    expect(outcomes(res.body.metadata.attempts)).toEqual([
      'primary:invalid',
      'primary:invalid',
      'primary:invalid',
      'backup:accepted',
    ]);
    expect(res.body.metadata.attempts[0].reason).toMatch(
      /scan: blocked: calls eval\(\): runs code built at run time \(line \d+\)/,
    );
    expect(res.body.enhanced_code.python).not.toContain('eval(');
    expect(await storedProvider(name)).toEqual(['backup']);
  });

  test('an original the scan blocks fails the run at every provider and the template: 422, nothing stored', async () => {
    const name = `evil_${uniqueSuffix()}`;
    const code = `import subprocess\n\ndef ${name}(x: int) -> int:\n    return x\n`;
    const res = await postJson(enhanceUrl, { function_name: name, original_code: code });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toMatch(/blocked: imports subprocess/);
    const rows = await stack.pool.query('SELECT 1 FROM versions WHERE function_name = $1', [name]);
    expect(rows.rowCount).toBe(0);
  });
});
