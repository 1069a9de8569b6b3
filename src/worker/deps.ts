import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { ActivityDeps } from '../activities';
import type { Config } from '../config';
import { createArtifactStore } from '../infra/storage/encrypted-artifact-store';
import { CircuitStatesRepo } from '../infra/db/circuit-states-repo';
import { EnhancementCache } from '../infra/cache/enhancement-cache';
import { InvalidationListener } from '../infra/cache/invalidation';
import { createPool } from '../infra/db/pool';
import { FieldCipher } from '../infra/crypto/field-cipher';
import { StoredKeys } from '../infra/crypto/stored-keys';
import { EventPublisher, eventStreamKey } from '../infra/events/publisher';
import { FeedbackRepo } from '../infra/db/feedback-repo';
import type { Logger } from '../infra/observability/logger';
import type { CircuitState, Metrics } from '../infra/observability/metrics';
import { createAnalyzer } from '../infra/sandbox/python-analyzer';
import { createRedis } from '../infra/cache/redis';
import { SandboxForkServer } from '../infra/sandbox/fork-server';
import { SandboxGate } from '../infra/sandbox/gate';
import { DomainsRepo } from '../infra/db/domains-repo';
import { LlmUsageRepo } from '../infra/db/llm-usage-repo';
import { ProviderChain } from '../infra/llm/provider-chain';
import { OutcomesRepo } from '../infra/db/outcomes-repo';
import { ReevaluationRepo } from '../infra/db/reevaluation-repo';
import { RolloutsRepo } from '../infra/db/rollouts-repo';
import { TenantSettingsRepo } from '../infra/db/tenant-settings-repo';
import { VersionsRepo } from '../infra/db/versions-repo';
import { WebhookDispatcher } from '../infra/events/webhook-dispatch';
import { WebhooksRepo } from '../infra/db/webhooks-repo';

export interface WorkerDeps extends ActivityDeps {
  pool: Pool;
  redis?: Redis;
  /** The worker's metrics registry: LLM adapters record tokens, cost and circuit states on it. */
  metrics: Metrics;
  /** Whether validations may run: probed at start, on readiness as the `sandbox` check. */
  sandboxGate: SandboxGate;
  /** States of the LLM providers' circuit breakers, for readiness and metrics. */
  circuits: () => Record<string, CircuitState>;
  close(): Promise<void>;
}

/**
 * Every adapter the activities use, built from config in one place. Without a Temporal client (a benchmark calling
 * activities directly) events are still marked for webhooks, and a worker's sweep starts their deliveries later.
 */
export function createWorkerDeps(config: Config, logger: Logger, metrics: Metrics, client?: Client): WorkerDeps {
  if (!config.DATABASE_URL)
    throw new Error('DATABASE_URL is required by the worker (poet start provides an embedded one)');
  const pool = createPool({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    max: config.DATABASE_POOL_MAX,
    process: 'worker',
  });
  pool.on('error', (err) => logger.warn('idle postgres connection lost', { error: err.message }));
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, logger) : undefined;
  const analyzer = createAnalyzer(config);
  const sandboxPython = {
    pythonBin: config.PYTHON_BIN,
    scriptDir: config.pythonDir,
    pathEnv: config.PATH,
    harness: { isolation: config.SANDBOX_ISOLATION, disk_bytes: config.SANDBOX_DISK_BYTES },
  };
  const forkServer = config.SANDBOX_FORK_SERVER ? new SandboxForkServer({ ...sandboxPython, logger }) : undefined;
  const sandboxGate = new SandboxGate(sandboxPython, logger, (state) => metrics.setSandboxState(state.status));
  const providers = new ProviderChain(config);
  const artifacts = createArtifactStore(config, logger);
  const fields = new FieldCipher(config.encryption);
  const cache = new EnhancementCache({
    redis,
    prefix: config.REDIS_PREFIX,
    maxEntries: config.CACHE_L0_MAX_ENTRIES,
    ttlSeconds: config.CACHE_TTL_SECONDS,
    logger,
  });
  const invalidations = new InvalidationListener({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    logger,
    onInvalidate: (msg) => {
      cache.evictLocal(msg.tenant_id, msg.function_name);
      if (msg.erased) cache.forgetCounts(msg.tenant_id);
      metrics.cacheInvalidations.inc();
    },
    onListening: (listening) => {
      cache.holdLocal(listening);
      metrics.cacheListening.set(listening ? 1 : 0);
    },
  });
  invalidations.start();
  const flushStats = () =>
    cache
      .flushStats(pool)
      .catch((err: Error) =>
        logger.warn('cache statistics not flushed, kept for the next flush', { error: err.message }),
      );
  const statsTimer = setInterval(flushStats, Math.max(1, config.CACHE_STATS_FLUSH_SECONDS) * 1000);
  statsTimer.unref();
  const circuitStates = new CircuitStatesRepo(pool);
  const workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const reportCircuits = () =>
    circuitStates
      .report(workerId, providers.states())
      .catch((err: Error) => logger.warn('circuit states not reported', { error: err.message }));
  void reportCircuits();
  const circuitTimer = setInterval(reportCircuits, Math.max(1, config.CIRCUIT_REPORT_SECONDS) * 1000);
  circuitTimer.unref();
  const webhooks = client ? WebhookDispatcher.fromConfig(config, { pool, client, logger }) : undefined;
  const sweepTimer = webhooks
    ? setInterval(
        () =>
          webhooks
            .sweep(config.WEBHOOK_SWEEP_SECONDS)
            .catch((err: Error) => logger.warn('webhook sweep failed, tried again later', { error: err.message })),
        config.WEBHOOK_SWEEP_SECONDS * 1000,
      )
    : undefined;
  sweepTimer?.unref();
  const events = new EventPublisher({
    pool,
    redis,
    stream: eventStreamKey(config.REDIS_PREFIX),
    maxLen: config.EVENTS_STREAM_MAXLEN,
    logger,
    webhooks,
  });
  return {
    pool,
    redis,
    metrics,
    analyzer,
    domains: new DomainsRepo(pool),
    storedKeys: config.encryption ? new StoredKeys(pool, config.encryption, artifacts.raw) : undefined,
    providers,
    circuits: () => providers.states(),
    usage: new LlmUsageRepo(pool, (call) =>
      metrics.recordGeneration({
        provider: call.provider,
        model: call.model,
        inputTokens: call.promptTokens,
        outputTokens: call.completionTokens,
        costUsd: call.costUsd,
      }),
    ),
    llm: {
      maxRepairs: config.LLM_MAX_REPAIRS,
      maxAttempts: config.LLM_MAX_ATTEMPTS,
      retryBaseMs: config.LLM_RETRY_BASE_MS,
      retryMaxMs: config.LLM_RETRY_MAX_MS,
      dailyBudgetUsd: config.LLM_DAILY_BUDGET_USD,
    },
    cache,
    sandbox: {
      ...sandboxPython,
      timeoutSeconds: config.VALIDATION_TIMEOUT_SECONDS,
      memoryMb: config.VALIDATION_MEMORY_MB,
      evidenceBudgetSeconds: config.VALIDATION_EVIDENCE_BUDGET_SECONDS,
      forkServer,
      gate: sandboxGate,
    },
    sandboxGate,
    versions: new VersionsRepo(pool, artifacts.store, fields),
    feedback: new FeedbackRepo(pool, fields),
    tenantSettings: new TenantSettingsRepo(pool),
    events,
    webhooks: {
      repo: new WebhooksRepo(pool),
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      onAttempt: (outcome) => metrics.recordWebhookAttempt(outcome),
    },
    reevaluations: new ReevaluationRepo(pool),
    reevaluationPageSize: config.REEVALUATION_PAGE_SIZE,
    rollouts: { rollouts: new RolloutsRepo(pool), outcomes: new OutcomesRepo(pool) },
    async close() {
      clearInterval(statsTimer);
      clearInterval(circuitTimer);
      await circuitStates
        .forget(workerId)
        .catch((err: Error) => logger.warn('circuit states not withdrawn; they age out', { error: err.message }));
      clearInterval(sweepTimer);
      await flushStats();
      await events.drain();
      await invalidations.close();
      artifacts.close();
      await analyzer.close();
      await forkServer?.close();
      redis?.disconnect();
      await pool.end();
    },
  };
}
