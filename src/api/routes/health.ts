import { Router } from 'express';
import type { Connection } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { circuitsCheck, diskCheck, memoryCheck, postgresCheck, probeCheck, redisCheck, runChecks, CHECK_TIMEOUT_MS, type Check, type CircuitStates } from '../../infra/health';

export interface HealthDeps {
  config: Config;
  connection: Connection;
  pool: Pool;
  redis?: Redis;
  /** States of the LLM providers' circuit breakers, when a provider chain is configured. */
  circuits?: CircuitStates;
}

/** The API's readiness checks: what a request needs (Temporal, PostgreSQL) fails it; the rest degrades it. */
export function apiChecks(deps: HealthDeps): Record<string, Check> {
  const { config, connection } = deps;
  return {
    temporal: probeCheck(() => connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.healthService.check({}))),
    postgres: postgresCheck(deps.pool),
    redis: redisCheck(deps.redis),
    llm: circuitsCheck(deps.circuits),
    disk: diskCheck(config.dataDir, config.HEALTH_DISK_MIN_FREE_MB),
    memory: memoryCheck(config.HEALTH_MAX_HEAP_RATIO),
  };
}

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
