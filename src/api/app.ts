import express, { type Express } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { Client, Connection } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { ApiKeysRepo } from '../infra/db/api-keys-repo';
import { AuditRepo } from '../infra/db/audit-repo';
import { DomainsRepo } from '../infra/db/domains-repo';
import type { Logger } from '../infra/observability/logger';
import type { Metrics } from '../infra/observability/metrics';
import type { CircuitStates } from '../infra/observability/health';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import { authenticate } from './auth';
import { auditTrail } from './auth-audit';
import type { PartnerVerifier } from './auth-partner';
import type { ArtifactStore } from '../infra/storage/artifact-store';
import { CacheInvalidator } from '../infra/cache/enhancement-cache';
import { EventsRepo } from '../infra/db/events-repo';
import { FeedbackRepo } from '../infra/db/feedback-repo';
import { Schedules } from '../infra/temporal/schedules';
import { VersionsRepo } from '../infra/db/versions-repo';
import { WebhookDispatcher, webhookRetry } from '../infra/events/webhook-dispatch';
import { WebhooksRepo } from '../infra/db/webhooks-repo';
import { errorHandler, NotFoundError } from './errors';
import { enhancementMetrics, httpMetrics, metricsEndpoint, requestContext } from '../http/observability';
import type { ClaimCheckCodec } from '../infra/temporal/claim-check';
import { jsonBody } from './json-body';
import { RateLimits } from './rate-limit';
import { requestId } from '../http/request-id';
import { adminRouter } from './routes/admin';
import { batchRouter } from './routes/batch';
import { dashboardRouter } from './routes/dashboard';
import { docsRouter } from './routes/docs';
import { domainsRouter } from './routes/domains';
import { cacheRouter } from './routes/cache';
import { enhanceRouter } from './routes/enhance';
import { eventsRouter } from './routes/events';
import { feedbackRouter } from './routes/feedback';
import { functionsRouter } from './routes/functions';
import { codecRouter } from './routes/codec';
import { healthRouter } from '../http/health';
import { apiChecks } from './routes/health';
import { partnerRouter } from './routes/partner';
import { runListRouter } from './routes/run-list';
import { runsRouter } from './routes/runs';
import { schedulesRouter } from './routes/schedules';
import { statsRouter } from './routes/stats';
import { webhooksRouter } from './routes/webhooks';
import { Runs } from './runs';

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  client: Client;
  connection: Connection;
  pool: Pool;
  redis?: Redis;
  analyzer: PythonAnalyzer;
  /** Aborted when the process starts draining (SIGTERM). */
  shutdown?: AbortSignal;
  /** Verifier of the partner endpoint's tokens; absent when no partner key is configured. */
  partner?: PartnerVerifier;
  /** States of the LLM providers' circuit breakers as the workers report them, for readiness and the dashboard. */
  circuits?: CircuitStates;
  /** Resolves the claim check's references: the Temporal UI's codec endpoint. */
  codec: ClaimCheckCodec;
  artifacts: ArtifactStore;
}

export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (config.TRUST_PROXY_HOPS > 0) app.set('trust proxy', config.TRUST_PROXY_HOPS);

  const runs = new Runs(deps.client);
  const keys = new ApiKeysRepo(deps.pool);
  const audit = new AuditRepo(deps.pool);
  const limits = new RateLimits(config, deps.redis, logger);
  const allowed = new Set(config.CORS_ALLOWED_ORIGINS);

  app.use(requestId());
  // Every later middleware, route and log line runs with the request id, and every answer is counted.
  app.use(requestContext(logger));
  app.use(httpMetrics(deps.metrics));
  app.use(helmet());
  // Only listed browser origins get CORS headers; requests without an Origin (agents, curl) are unaffected.
  app.use(cors({ origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin)), maxAge: 600 }));
  const checks = apiChecks(deps);
  app.use(healthRouter(checks));
  app.get('/metrics', metricsEndpoint(deps.metrics, checks));
  app.use(docsRouter());
  app.use(dashboardRouter(config.rootDir));
  app.use(auditTrail({ audit, logger }));
  // Order: per-IP budget, then credentials and roles, and only then is a body read.
  app.use(limits.perIp());
  app.use(authenticate({ config, keys, partner: deps.partner, limits }));
  app.use(jsonBody(config.BODY_LIMIT_BYTES));

  const domains = new DomainsRepo(deps.pool);
  const enhancement = { config, client: deps.client, analyzer: deps.analyzer, runs, domains, shutdown: deps.shutdown };
  app.use(['/api/v1/functions/enhance', '/v1/external/enhance'], enhancementMetrics(deps.metrics));
  app.use(enhanceRouter(enhancement));
  app.use(batchRouter({ ...enhancement, limits }));
  app.use(partnerRouter(enhancement));
  app.use(domainsRouter(domains));
  app.use(runsRouter({ runs, pollMs: config.RUN_EVENTS_POLL_MS, heartbeatMs: config.RUN_EVENTS_HEARTBEAT_MS, shutdown: deps.shutdown }));
  app.use(runListRouter({ client: deps.client, config }));
  app.use(adminRouter({ config, keys, audit }));
  app.use(statsRouter(deps));
  const versions = new VersionsRepo(deps.pool, deps.artifacts);
  const versionsDeps = { config, client: deps.client, runs, versions, shutdown: deps.shutdown };
  app.use(functionsRouter(versionsDeps));
  const dispatcher = new WebhookDispatcher({
    pool: deps.pool,
    client: deps.client,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    schema: config.DATABASE_SCHEMA,
    retry: webhookRetry(config),
    logger,
  });
  // The feedback is stored either way: an event whose delivery could not start now is started by a worker's sweep.
  const dispatchWebhooks = async (keys: string[]): Promise<void> => {
    try {
      await dispatcher.dispatch(keys);
    } catch (err) {
      logger.warn('webhook deliveries not started; the sweep will start them', { error: (err as Error).message });
    }
  };
  app.use(feedbackRouter({ ...versionsDeps, feedback: new FeedbackRepo(deps.pool), dispatchWebhooks }));
  app.use(webhooksRouter({ config, repo: new WebhooksRepo(deps.pool) }));
  app.use(eventsRouter({ versions, events: new EventsRepo(deps.pool) }));
  app.use(cacheRouter({ pool: deps.pool, invalidator: new CacheInvalidator({ redis: deps.redis, prefix: config.REDIS_PREFIX }) }));
  app.use(codecRouter({ codec: deps.codec, operatorTenant: config.OPERATOR_TENANT }));
  app.use(schedulesRouter({ schedules: new Schedules(deps.client, config), operatorTenant: config.OPERATOR_TENANT }));
  app.use((req) => {
    throw new NotFoundError('route_not_found', `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger));
  return app;
}
