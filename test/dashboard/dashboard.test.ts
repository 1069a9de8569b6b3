import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm';
import { getJson, postJson, startStack, type TestStack } from '../helpers/stack';

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
