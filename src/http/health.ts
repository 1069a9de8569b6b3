import { Router, type RequestHandler } from 'express';
import { runChecks, type Check } from '../infra/observability/health';

export type Checks = Record<string, Check>;

export const liveHandler: RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};

export function readyHandler(checks: Checks): RequestHandler {
  return async (_req, res) => {
    const readiness = await runChecks(checks);
    res.status(readiness.status === 'failing' ? 503 : 200).json(readiness);
  };
}

/** `/health/live` and `/health/ready` over a set of checks: the API (through its route declarations) and the worker serve the same two. */
export function healthRouter(checks: Checks): Router {
  const router = Router();
  router.get('/health/live', liveHandler);
  router.get('/health/ready', readyHandler(checks));
  return router;
}
