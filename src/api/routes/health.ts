import type { Connection } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { circuitsCheck, diskCheck, memoryCheck, postgresCheck, probeCheck, redisCheck, CHECK_TIMEOUT_MS, type Check, type CircuitStates } from '../../infra/observability/health';

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
