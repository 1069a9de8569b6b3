import { Router } from 'express';
import { runChecks, type Check } from '../infra/observability/health';

/** `/health/live` and `/health/ready` over a set of checks: the API and the worker serve the same two. */
export function healthRouter(checks: Record<string, Check>): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const readiness = await runChecks(checks);
    res.status(readiness.status === 'failing' ? 503 : 200).json(readiness);
  });
  return router;
}
