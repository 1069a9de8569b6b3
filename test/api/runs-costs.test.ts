import { getJson, postJson, startStack, type TestStack } from '../helpers/stack';

// GET /api/v1/runs and /api/v1/costs (the dashboard's data) and the dashboard's static files.
const UI = 'https://temporal.example.test/';
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('runs_costs', { TEMPORAL_UI_URL: UI });
});
afterAll(() => stack.close());

const code = (name: string) => `def ${name}(x: int) -> int:\n    return x * 3\n`;

test("recent runs: the tenant's own only, newest first, with Temporal UI links", async () => {
  const other = await stack.createKey('tenant-b', 'agent');
  const mine = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: 'listed_a',
    original_code: code('listed_a'),
  });
  expect(mine.status).toBe(200);
  const later = await postJson(`${stack.url}/api/v1/functions/enhance`, {
    function_name: 'listed_b',
    original_code: code('listed_b'),
  });
  expect(later.status).toBe(200);
  const theirs = await postJson(
    `${stack.url}/api/v1/functions/enhance`,
    { function_name: 'listed_c', original_code: code('listed_c') },
    { authorization: `Bearer ${other}` },
  );
  expect(theirs.status).toBe(200);

  // Visibility is eventually consistent: wait (bounded) until the three runs are listed.
  let runs: any[] = [];
  for (let i = 0; i < 50 && runs.length < 2; i++) {
    runs = (await getJson(`${stack.url}/api/v1/runs`)).body.runs.filter(
      (r: { status: string }) => r.status === 'completed',
    );
    if (runs.length < 2) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(runs.map((r) => r.function_name)).toEqual(['listed_b', 'listed_a']);
  expect(runs[0]).toMatchObject({
    workflow_id: later.body.run.workflow_id,
    run_id: later.body.run.run_id,
    type: 'enhanceFunction',
    domain: 'base_reliability',
    cache: 'miss',
    temporal_ui_url: `https://temporal.example.test/namespaces/default/workflows/${later.body.run.workflow_id}/${later.body.run.run_id}/history`,
  });
  expect(Date.parse(runs[0].closed_at)).toBeGreaterThanOrEqual(Date.parse(runs[0].started_at));

  const one = await getJson(`${stack.url}/api/v1/runs?limit=1`);
  expect(one.body.runs).toHaveLength(1);
  const theirList = await getJson(`${stack.url}/api/v1/runs`, { authorization: `Bearer ${other}` });
  expect(theirList.body.runs.map((r: { function_name: string }) => r.function_name)).toEqual(['listed_c']);

  const bad = await getJson(`${stack.url}/api/v1/runs?limit=500`);
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ code: 'invalid_request', details: [{ path: 'query.limit' }] });
});

test("costs per day and provider: models summed, the tenant's own, within the window", async () => {
  const insert = `INSERT INTO costs (tenant_id, day, provider, model, calls, prompt_tokens, completion_tokens, cost_usd)
                  VALUES ($1, (now() AT TIME ZONE 'UTC')::date - $2::int, $3, $4, $5, $6, $7, $8)`;
  for (const row of [
    ['default', 0, 'openai', 'gpt-a', 2, 100, 50, 0.02],
    ['default', 0, 'openai', 'gpt-b', 1, 10, 5, 0.001],
    ['default', 2, 'groq', 'llama', 3, 300, 30, 0.003],
    ['default', 20, 'openai', 'gpt-a', 9, 9, 9, 9],
    ['tenant-b', 0, 'openai', 'gpt-a', 7, 7, 7, 7],
  ])
    await stack.pool.query(insert, row);

  const res = await getJson(`${stack.url}/api/v1/costs`);
  expect(res.status).toBe(200);
  const today = new Date().toISOString().slice(0, 10);
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  expect(res.body.to).toBe(today);
  expect(res.body.rows).toEqual([
    { day: twoDaysAgo, provider: 'groq', calls: 3, tokens: { input: 300, output: 30 }, cost_usd: 0.003 },
    { day: today, provider: 'openai', calls: 3, tokens: { input: 110, output: 55 }, cost_usd: 0.021 },
  ]);
  expect((await getJson(`${stack.url}/api/v1/costs?days=1`)).body.rows).toHaveLength(1);
  const bad = await getJson(`${stack.url}/api/v1/costs?days=0`);
  expect(bad.status).toBe(400);
  expect(bad.body.error.details[0].path).toBe('query.days');
});

test('dashboard files are public and stay inside their folder; the data routes are not', async () => {
  const page = await fetch(`${stack.url}/dashboard`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<script src="/dashboard/app.js" defer></script>');
  const script = await fetch(`${stack.url}/dashboard/app.js`);
  expect(script.headers.get('content-type')).toMatch(/javascript/);
  for (const sneaky of ['..%2Fpackage.json', '%2e%2e%2f%2e%2e%2fpackage.json', '.env', 'nope.js']) {
    const res = await fetch(`${stack.url}/dashboard/${sneaky}`);
    expect([400, 404]).toContain(res.status);
    expect(await res.text()).not.toContain('poet-service');
  }
  expect((await getJson(`${stack.url}/api/v1/runs`, { authorization: '' })).status).toBe(401);
  expect((await getJson(`${stack.url}/api/v1/costs`, { authorization: '' })).status).toBe(401);
});
