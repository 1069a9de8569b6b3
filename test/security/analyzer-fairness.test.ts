import { postJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

let stack: TestStack;

beforeAll(async () => {
  // A short analysis timeout: a queue wait counted against it would fail the small request below every time.
  stack = await startStack('analyzerfair', { ANALYZER_TIMEOUT_MS: '1500' });
});
afterAll(() => stack.close());

test("8 concurrent batches of 4 × 60 KB from one tenant never fail another tenant's small enhance", async () => {
  const storm = await stack.createKey(`storm_${uniqueSuffix()}`, 'agent');
  const other = await stack.createKey(`quiet_${uniqueSuffix()}`, 'agent');
  // 60 KB of statements to parse; the function named is not defined, so each item stops after its analysis.
  const big = (i: number) => ({
    function_name: `missing_${i}`,
    original_code: `def present():\n    pass\n${'a=1;'.repeat(15_000)}\n`,
  });
  const batches = Array.from({ length: 8 }, (_, b) =>
    postJson(
      `${stack.url}/api/v1/functions/enhance:batch`,
      { functions: Array.from({ length: 4 }, (_, i) => big(b * 4 + i)) },
      { 'x-api-key': storm },
    ),
  );
  const name = `small_${uniqueSuffix()}`;
  const small = postJson(
    `${stack.url}/api/v1/functions/enhance`,
    { function_name: name, original_code: `def ${name}(x: int) -> int:\n    return x + 1\n` },
    { 'x-api-key': other },
  );

  const answers = await Promise.all(batches);
  const answered = await small;
  expect({ status: answered.status, error: answered.body.error }).toEqual({ status: 200, error: undefined });
  for (const answer of answers) {
    expect([422, 503]).toContain(answer.status);
    if (answer.status === 503) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }
});
