import { Router, type Response } from 'express';
import { runChecks, type Check } from '../infra/observability/health';

export type Checks = Record<string, Check>;

export function sendLiveness(res: Response): void {
  res.json({ status: 'ok' });
}

/** 503 when a check is failing; degraded checks still answer 200. */
export async function sendReadiness(res: Response, checks: Checks): Promise<void> {
  const readiness = await runChecks(checks);
  res.status(readiness.status === 'failing' ? 503 : 200).json(readiness);
}

/** `/health/live` and `/health/ready` over a set of checks: the API (through its route declarations) and the worker serve the same two. */
export function healthRouter(checks: Checks): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => sendLiveness(res));
  router.get('/health/ready', (_req, res) => sendReadiness(res, checks));
  return router;
}
