import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { startApi, type RunningApi } from '../../src/api/server';
import { WORKFLOW_TYPES } from '../../src/definitions/workflow-types';
import { rotateKeyWorkflowId } from '../../src/definitions/workflow-ids';
import { newKeyEntry, parseKeyRing } from '../../src/infra/crypto/key-ring';
import { createPool } from '../../src/infra/db/pool';
import { createLogger } from '../../src/infra/observability/logger';
import { startWorker, type RunningWorker } from '../../src/worker/worker';
import { launchChromium } from '../helpers/browser';
import { largeFunction } from '../helpers/raw-history';
import { getJson, postJson, startStack, type TestStack, uniqueSuffix, until } from '../helpers/stack';

// The dashboard shows a running rotateEncryptionKey's progress (its query), then its end.
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const KEY_A = newKeyEntry('a');
const KEY_B = newKeyEntry('b');

let stack: TestStack;
let locks: Pool;
let worker: RunningWorker | undefined;
let api: RunningApi | undefined;
let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;

beforeAll(async () => {
  stack = await startStack('dash_rotation', { ENCRYPTION_KEYS: KEY_A });
  locks = createPool({ url: stack.config.DATABASE_URL!, schema: stack.config.DATABASE_SCHEMA, max: 1 });
  chromium = await launchChromium();
}, 90_000);
afterAll(async () => {
  await chromium?.close();
  await api?.close();
  await worker?.shutdown();
  await locks.end();
  await stack.close();
});

test('a running rotation shows its progress on the dashboard, then its end', async () => {
  for (let i = 0; i < 3; i++) {
    const name = `dash_rotate_${i}_${uniqueSuffix()}`;
    const res = await postJson(`${stack.url}/api/v1/functions/enhance`, {
      function_name: name,
      original_code: largeFunction(name, `MARKER_${i}`),
    });
    expect(res.status).toBe(200);
  }
  const { rows } = await stack.pool.query<{ id: string; tenant_id: string }>(
    'SELECT id, tenant_id FROM payloads ORDER BY id, tenant_id',
  );
  expect(rows.length).toBeGreaterThanOrEqual(6);
  // Rotation re-encrypts the versions' encrypted fields too, after the payloads.
  const { rows: sealed } = await stack.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM versions WHERE key_id = 'a'",
  );
  expect(sealed[0]!.n).toBe(3);
  const total = rows.length + sealed[0]!.n;

  // The switch: the worker and the API get ring a+b with b active.
  const configAB = { ...stack.config, encryption: parseKeyRing(`${KEY_A},${KEY_B}`, 'b') };
  const logger = createLogger({ level: 'error', service: 'test-dash-rotation', silent: true });
  await stack.worker.shutdown();
  worker = await startWorker(configAB, logger);
  api = await startApi(configAB, logger);

  // The third row's write waits on this lock: the rotation stays running with two rows done.
  const tx: PoolClient = await locks.connect();
  await tx.query('BEGIN');
  await tx.query('SELECT 1 FROM payloads WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [
    rows[2]!.id,
    rows[2]!.tenant_id,
  ]);
  const { rows: me } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  try {
    await stack.client.workflow.start(WORKFLOW_TYPES.rotateKey, {
      workflowId: rotateKeyWorkflowId(stack.config.DATABASE_SCHEMA, 'b'),
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      args: [{ target_key_id: 'b', page_size: 1, pages_per_run: 100 }],
    });
    await until('the rotation waiting on the lock', async () => {
      const { rows: waiting } = await stack.pool.query(
        'SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
        [me[0]!.pid],
      );
      return waiting[0];
    });
    const running = await getJson(`${api.url}/api/v1/admin/key-rotation`);
    expect(running.body).toMatchObject({
      active_key_id: 'b',
      rotation: { status: 'running', progress: { done: 2, by_key: { a: 2 }, complete: false } },
    });

    const page = await chromium!.browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${api.url}/dashboard`);
    await page.fill('#api-key', stack.apiKey);
    await page.click('#sign-in button[type=submit]');
    await page.waitForSelector('#rotation-panel:not([hidden])');
    expect(await page.textContent('#rotation-status')).toBe('running');
    const summary = await page.textContent('#rotation-summary');
    expect(summary).toContain('rotation to key b: 2 re-encrypted (a: 2)');
    const during = Number(await page.getAttribute('#rotation-bar', 'value'));
    expect(during).toBeGreaterThan(0);
    expect(during).toBeLessThan(1);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-rotation.png'), fullPage: true });

    await tx.query('ROLLBACK');
    // The page refreshes every 5 s.
    await page.waitForFunction(
      () => (globalThis as any).document.querySelector('#rotation-status')?.textContent === 'completed',
      null,
      { timeout: 60_000 },
    );
    expect(await page.textContent('#rotation-summary')).toContain(`${total} re-encrypted (a: ${total}), 0 left`);
    expect(await page.getAttribute('#rotation-bar', 'value')).toBe('1');
    expect(problems).toEqual([]);
    await page.close();

    // Another tenant's admin does not see it: key rotation spans every tenant.
    const other = await stack.createKey(`other_${uniqueSuffix()}`, 'admin');
    const refused = await getJson(`${api.url}/api/v1/admin/key-rotation`, { authorization: `Bearer ${other}` });
    expect(refused.status).toBe(403);
  } finally {
    tx.release();
  }
}, 180_000);
