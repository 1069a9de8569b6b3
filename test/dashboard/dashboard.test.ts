import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { getJson, startStack, type TestStack } from '../helpers/stack';

// The dashboard in headless Chromium (Debian's package; .ci/run installs it) against the real stack.
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const UI = 'http://temporal-ui.test:8233';

let stack: TestStack;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  stack = await startStack('dashboard', { TEMPORAL_UI_URL: UI });
  profile = mkdtempSync(path.join(os.tmpdir(), 'poet-chromium-'));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 1600 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}, 90_000);
afterAll(async () => {
  await browser?.close();
  rmSync(profile, { recursive: true, force: true });
  await stack.close();
});

async function enhanceFromPage(page: Page, name: string, domain: string, code: string): Promise<void> {
  await page.fill('#enhance-name', name);
  await page.selectOption('#enhance-domain', domain);
  await page.fill('#enhance-code', code);
  await page.click('#enhance-form button[type=submit]');
  await page.waitForSelector('#run-status.completed', { timeout: 45_000 });
}

test('sign in, start enhancements and watch them complete, see the run with its Temporal UI link, open a diff', async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
  page.on('pageerror', (err) => problems.push(err.message));

  // Spend of two providers on two days, as the generate activity books it.
  for (const [age, provider, cost] of [[0, 'openai', 0.02], [1, 'groq', 0.004]] as const) {
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
  expect(await page.textContent('#breakers')).toMatch(/template|openai|closed/);
  expect(await page.evaluate("sessionStorage.getItem('poet.apiKey')")).toBe(stack.apiKey);

  const code = 'def dash_ratio(a: float, b: float) -> float:\n    return a / b\n';
  await enhanceFromPage(page, 'dash_ratio', 'base_reliability', code);
  expect(await page.textContent('#run-result')).toMatch(/version 1 · safety \w+/);
  await enhanceFromPage(page, 'dash_ratio', 'computation', code);
  expect(await page.textContent('#run-result')).toMatch(/version 2 · /);

  // Recent runs: both, each linking into the Temporal UI.
  await page.waitForSelector('#runs tbody tr:nth-child(2) a');
  expect(await page.locator('#runs tbody a').first().getAttribute('href')).toMatch(new RegExp(`^${UI}/namespaces/default/workflows/enhance-dash_ratio-[0-9a-f]{12}/[0-9a-f-]+/history$`));
  const listed = await getJson(`${stack.url}/api/v1/runs`);
  expect(listed.body.runs.map((r: { function_name: string }) => r.function_name)).toEqual(['dash_ratio', 'dash_ratio']);

  // Versions and the side-by-side diff of v1 → v2.
  await page.click('#functions button[data-function=dash_ratio]');
  await page.waitForSelector('#diff-open');
  expect(await page.locator('#versions tbody tr').count()).toBe(2);
  await page.click('#diff-open');
  await page.waitForSelector('#diff-grid .add');
  expect(await page.textContent('#diff h3')).toContain('v1 → v2');
  expect(await page.locator('#diff-grid .del').count()).toBeGreaterThan(0);

  expect(await page.locator('#cost-chart svg rect').count()).toBe(2);
  expect(await page.textContent('#token-chart .legend')).toBe('groqopenai');
  // Every lookup so far missed: a flat line at 0 %, which has no area, so only its presence is checked.
  await page.waitForSelector('#cache-chart polyline', { state: 'attached' });
  expect(await page.textContent('#cache-summary')).toMatch(/^hit rate \d/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  await page.close();
}, 120_000);
