import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, until, type TestStack } from '../helpers/stack';

// The dashboard in headless Chromium (Debian's package; .ci/run installs it) against the real stack.
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const UI = 'http://temporal-ui.test:8233';

let fake: FakeLlm;
let stack: TestStack;
let browser: BrowserContext;
let chromium: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  // The provider takes its time, so the page can be seen showing the generate stage while it happens.
  fake = await startFakeLlm({ latencyMs: 1500 });
  stack = await startStack('dashboard', {
    TEMPORAL_UI_URL: UI,
    LLM_PROVIDERS: JSON.stringify([
      { name: 'fake', base_url: fake.url('good'), model: 'fake-large', timeout_ms: 100_000 },
    ]),
    RUN_EVENTS_POLL_MS: '100',
  });
  chromium = await launchChromium();
  browser = chromium.browser;
}, 90_000);
afterAll(async () => {
  await chromium?.close();
  await stack.close();
  await fake.close();
});

interface StageView {
  status: string;
  stages: { stage: string; state: string }[];
}

/**
 * The progress panel as one snapshot taken inside the page: the run's status badge and its stage list; with `current`,
 * only while that stage is the current one. Sent to the page as source (CSP forbids eval of strings); no DOM types here.
 */
function stageView(current: string | null): StageView | undefined {
  const doc = (globalThis as any).document;
  const stages: StageView['stages'] = Array.from(doc.querySelectorAll('#run-stages li'), (li: any) => ({
    stage: li.dataset.stage,
    state: li.className,
  }));
  if (current && !stages.some((s) => s.stage === current && s.state === 'current')) return undefined;
  return { status: doc.querySelector('#run-status')?.textContent, stages };
}

/** Starts an enhancement from the form; resolves with the progress panel as it was while generate ran, and at the end. */
async function enhanceFromPage(
  page: Page,
  name: string,
  domain: string,
  code: string,
): Promise<{ during: StageView; after: StageView }> {
  await page.fill('#enhance-name', name);
  await page.selectOption('#enhance-domain', domain);
  await page.fill('#enhance-code', code);
  await page.click('#enhance-form button[type=submit]');
  // Polled inside the page: the snapshot returned is the one that met the condition.
  const during = await page.waitForFunction(stageView, 'generate', { timeout: 45_000, polling: 'raf' });
  await page.waitForSelector('#run-status.completed', { timeout: 45_000 });
  return { during: (await during.jsonValue())!, after: (await page.evaluate(stageView, null))! };
}

test('sign in, start enhancements and watch them complete, see the run with its Temporal UI link, open a diff', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));

  // Spend of two providers on two days, as the generate activity books it.
  for (const [age, provider, cost] of [
    [0, 'openai', 0.02],
    [1, 'groq', 0.004],
  ] as const) {
    await stack.pool.query(
      `INSERT INTO costs (tenant_id, day, provider, model, calls, prompt_tokens, completion_tokens, cost_usd)
       VALUES ('default', (now() AT TIME ZONE 'UTC')::date - $1::int, $2, 'm', 1, 100, 20, $3)`,
      [age, provider, cost],
    );
  }

  const res = await page.goto(`${stack.url}/dashboard`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

  // A wrong key is refused and the page stays signed out.
  await page.fill('#api-key', 'poet_000000000000.wrong');
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#sign-in-error:not(:empty)');
  expect(await page.isVisible('#main')).toBe(false);

  await page.fill('#api-key', stack.apiKey);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#main:not([hidden])');
  await page.waitForSelector('#health tbody tr');
  expect(await page.textContent('#health')).toContain('postgres');
  // The API makes no LLM calls: the states are the worker's, shared through PostgreSQL.
  expect(await page.textContent('#breakers')).toContain('fake closed');
  expect(await page.evaluate("sessionStorage.getItem('poet.apiKey')")).toBe(stack.apiKey);

  const code = 'def dash_ratio(a: float, b: float) -> float:\n    return a / b\n';
  const first = await enhanceFromPage(page, 'dash_ratio', 'base_reliability', code);
  // Live: while the provider answers, the list shows generate as the current stage and nothing after it.
  expect(first.during).toEqual({
    status: 'running',
    stages: [
      { stage: 'queued', state: 'done' },
      { stage: 'cache', state: 'done' },
      { stage: 'generate', state: 'current' },
    ],
  });
  expect(first.after.status).toBe('completed');
  expect(first.after.stages.map((s) => s.stage)).toEqual([
    'queued',
    'cache',
    'generate',
    'validate',
    'store',
    'publish',
    'completed',
  ]);
  expect(first.after.stages.every((s) => s.state === 'done')).toBe(true);
  expect(await page.textContent('#run-result')).toMatch(/version 1 · safety \w+ · cache miss · fake/);
  // The fake provider keeps the original code verbatim: a changed original gives code.py a diff too.
  await enhanceFromPage(page, 'dash_ratio', 'computation', code.replace('return a / b', 'return a / b if b else 0.0'));
  expect(await page.textContent('#run-result')).toMatch(/version 2 · /);

  // Recent runs: both, each linking into the Temporal UI.
  await page.waitForSelector('#runs tbody tr:nth-child(2) a');
  expect(await page.locator('#runs tbody a').first().getAttribute('href')).toMatch(
    new RegExp(`^${UI}/namespaces/default/workflows/enhance-dash_ratio-[0-9a-f]{12}/[0-9a-f-]+/history$`),
  );
  const listed = await getJson(`${stack.url}/api/v1/runs`);
  expect(listed.body.runs.map((r: { function_name: string }) => r.function_name)).toEqual(['dash_ratio', 'dash_ratio']);

  // Versions with what the field reported for each, and the side-by-side diff of v1 → v2.
  const reported = await postJson(`${stack.url}/api/v1/outcomes`, {
    reports: [
      { function_name: 'dash_ratio', version: 2, success: true, latency_ms: 4, attempts: 1 },
      {
        function_name: 'dash_ratio',
        version: 2,
        success: false,
        exception_type: 'ZeroDivisionError',
        latency_ms: 4,
        attempts: 1,
      },
    ],
  });
  expect(reported.body.accepted).toBe(2);
  await page.click('#functions button[data-function=dash_ratio]');
  await page.waitForSelector('#diff-open');
  expect(await page.locator('#versions tbody tr').count()).toBe(2);
  const v2 = page.locator('#versions tr[data-version="2"]');
  expect(await v2.locator('.field-calls').textContent()).toBe('2');
  expect(await v2.locator('.field-success').textContent()).toBe('0.500');
  expect(await v2.locator('.field-error').textContent()).toBe('ZeroDivisionError 1');
  expect(await page.locator('#versions tr[data-version="1"] .field-calls').textContent()).toBe('0');
  await page.click('#diff-open');
  await page.waitForSelector('#diff-grid .add');
  expect(await page.textContent('#diff h3')).toContain('v1 → v2');
  expect(await page.locator('#diff-grid .del').count()).toBeGreaterThan(0);
  expect(await page.locator('#diff-grid').first().textContent()).toContain('return a / b if b else 0.0');

  // The fake provider's calls book tokens at no price: a legend entry, no cost bar.
  expect(await page.locator('#cost-chart svg rect').count()).toBe(2);
  expect(await page.textContent('#token-chart .legend')).toBe('fakegroqopenai');
  // Every lookup so far missed: a flat line at 0 %, which has no area, so only its presence is checked.
  await page.waitForSelector('#cache-chart polyline', { state: 'attached' });
  expect(await page.textContent('#cache-summary')).toMatch(/^hit rate \d/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  await page.close();
}, 120_000);

test("a function's rollout: its steps, the decision with its figures, both versions side by side, paused from the API", async () => {
  const name = `dash_roll_${uniqueSuffix()}`;
  const api = (p: string) => `${stack.url}/api/v1/functions${p}`;
  const enhance = (body: string) =>
    postJson(api('/enhance'), {
      function_name: name,
      original_code: `def ${name}(a: float, b: float) -> float:\n    return ${body}\n`,
    });
  expect((await enhance('a / b')).body.version).toBe(1);
  expect((await enhance('float(a) / b')).body.version).toBe(2);
  expect((await postJson(api(`/${name}/versions/1/activate`), {})).status).toBe(200);
  // Time enough between judgements to pause the run after its first advance, before it judges the next step.
  const started = await postJson(api(`/${name}/rollouts`), {
    candidate_version: 2,
    steps: [10, 50, 100],
    min_calls: 40,
    step_wait: 5,
    max_duration: 600,
  });
  expect(started.status).toBe(201);
  const report = (version: number, failures: number, latency: number) =>
    postJson(`${stack.url}/api/v1/outcomes`, {
      reports: Array.from({ length: 40 }, (_, i) => ({
        function_name: name,
        version,
        success: i >= failures,
        exception_type: i >= failures ? null : 'ValueError',
        latency_ms: latency,
        attempts: 1,
      })),
    });
  // One failure in 40 is no evidence of a worse candidate: the first step advances.
  expect((await report(1, 0, 4)).body.accepted).toBe(40);
  expect((await report(2, 1, 5)).body.accepted).toBe(40);
  await until('the advance to 50 %', async () =>
    (await getJson(api(`/${name}/rollouts/current`))).body.share_percent === 50 ? true : undefined,
  );
  const paused = await postJson(api(`/${name}/rollouts/current/pause`), {});
  expect(paused.body).toMatchObject({ status: 'paused', share_percent: 50, step_index: 1 });
  // The rollout's run as GET /api/v1/runs/{id} shows it: typed, with its state; only operators end it (its routes).
  const runUrl = `${stack.url}/api/v1/runs/${started.body.run.workflow_id}`;
  const asRun = await getJson(runUrl);
  expect(asRun.body).toEqual({
    status: 'running',
    run: started.body.run,
    type: 'rolloutVersion',
    rollout: paused.body,
  });
  expect(asRun.body.rollout).toMatchObject({ candidate_version: 2, baseline_version: 1, steps: [10, 50, 100] });
  expect((await requestJson('DELETE', runUrl)).status).toBe(404);

  const page = await browser.newPage();
  const problems: string[] = [];
  // The browser's own favicon request carries no key: its 401 is not the page's doing.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${stack.url}/dashboard`);
  await page.fill('#api-key', stack.apiKey);
  await page.click('#sign-in button[type=submit]');
  await page.click(`#functions button[data-function=${name}]`);
  // The paused event is published after the run records the pause: the page shows it on a refresh at the latest.
  await page.waitForSelector('#rollout-decisions tr[data-event="rollout.paused"]', { timeout: 20_000 });

  expect(await page.textContent('#rollout-status')).toBe('paused');
  expect(await page.textContent('#rollout-share')).toBe(' candidate share 50 %');
  const steps = await page.$$eval('#rollout-steps li', (items) =>
    items.map((li) => ({ percent: li.getAttribute('data-percent'), state: li.className })),
  );
  expect(steps).toEqual([
    { percent: '10', state: 'done' },
    { percent: '50', state: 'paused' },
    { percent: '100', state: 'pending' },
  ]);
  const decisions = page.locator('#rollout-decisions tbody tr');
  expect(await decisions.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')))).toEqual([
    'rollout.started',
    'rollout.advanced',
    'rollout.paused',
  ]);
  const advanced = page.locator('#rollout-decisions tr[data-event="rollout.advanced"]');
  expect(await advanced.locator('.share').textContent()).toBe('10 % → 50 %');
  expect(await advanced.locator('.verdict').textContent()).toBe('advance');
  expect(await advanced.locator('.candidate').textContent()).toMatch(/^v2: 39\/40 ok, p95 [\d.]+ ms$/);
  expect(await advanced.locator('.baseline').textContent()).toMatch(/^v1: 40\/40 ok, p95 [\d.]+ ms$/);
  expect(await advanced.locator('.z').textContent()).toMatch(/^-?\d+\.\d{3}$/);

  // Side by side: each column is what GET .../versions/{v}/outcomes answers for that version.
  const cell = (figure: string, side: string) =>
    page.locator(`#rollout-figures tr[data-figure=${figure}] td.${side}`).textContent();
  for (const [side, version] of [
    ['candidate', 2],
    ['baseline', 1],
  ] as const) {
    const field = (await getJson(api(`/${name}/versions/${version}/outcomes?window=24h`))).body;
    expect(await cell('calls', side)).toBe(String(field.calls));
    expect(await cell('success', side)).toBe(field.success_rate.toFixed(3));
    expect(await cell('p50', side)).toBe(field.latency_ms.p50.toFixed(1));
    expect(await cell('p95', side)).toBe(field.latency_ms.p95.toFixed(1));
  }
  expect(await cell('calls', 'candidate')).toBe('40');
  expect(await cell('success', 'candidate')).toBe('0.975');
  expect(await cell('errors', 'candidate')).toBe('ValueError 1');
  expect(await cell('errors', 'baseline')).toBe('–');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-rollout.png'), fullPage: true });

  // Aborted from the API: the next refresh shows the run ended, the current step marked failed.
  const aborted = await postJson(api(`/${name}/rollouts/current/abort`), {});
  expect(aborted.body).toMatchObject({ status: 'aborted', share_percent: 0, step_index: 1 });
  const ended = await until('the run to close', async () => {
    const answer = await getJson(runUrl);
    return answer.body.status === 'running' ? undefined : answer.body;
  });
  expect(ended).toEqual({
    status: 'completed',
    run: started.body.run,
    type: 'rolloutVersion',
    rollout: aborted.body,
    result: aborted.body,
  });
  await page.waitForSelector('#rollout-status.aborted', { timeout: 20_000 });
  expect(await page.locator('#rollout-steps li[data-percent="50"]').getAttribute('class')).toBe('failed');
  expect(problems).toEqual([]);
  await page.close();
}, 120_000);
