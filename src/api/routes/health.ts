import { Router } from 'express';
import type { Connection } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';

type CheckStatus = 'ok' | 'degraded' | 'failing' | 'disabled';
interface CheckResult {
  status: CheckStatus;
  latency_ms: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 2_000;

async function timed(probe: () => Promise<unknown>, failing: CheckStatus): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: failing, latency_ms: Math.round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(deps: { connection: Connection; pool: Pool; redis?: Redis }): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const [temporal, postgres, redis] = await Promise.all([
      timed(() => deps.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => deps.connection.healthService.check({})), 'failing'),
      timed(() => deps.pool.query('SELECT 1'), 'failing'),
      // Redis only speeds things up: without it the service still answers, so it degrades rather than fails.
      deps.redis ? timed(() => deps.redis!.ping(), 'degraded') : Promise.resolve<CheckResult>({ status: 'disabled', latency_ms: 0 }),
    ]);
    const checks = { temporal, postgres, redis };
    const ready = temporal.status === 'ok' && postgres.status === 'ok';
    const degraded = Object.values(checks).some((c) => c.status === 'degraded');
    res.status(ready ? 200 : 503).json({ status: ready ? (degraded ? 'degraded' : 'ok') : 'failing', checks });
  });
  return router;
}
