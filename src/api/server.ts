import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { UseCases } from '../app';
import { ApiKeys, Audit } from '../app/access';
import { PayloadCodec } from '../app/codec';
import { Domains } from '../app/domains';
import { Enhancements } from '../app/enhance';
import { Feedback } from '../app/feedback';
import { Functions } from '../app/functions';
import { Outcomes } from '../app/outcomes';
import { Resolver } from '../app/resolution';
import { Rollouts } from '../app/rollouts';
import { Runs } from '../app/runs';
import { KeyRotationStatus } from '../app/key-rotation';
import { ScheduleControl } from '../app/schedules';
import { TenantData } from '../app/tenant-data';
import { TenantLifecycle } from '../app/tenant-lifecycle';
import { Webhooks } from '../app/webhooks';
import type { Config } from '../config';
import { listen } from '../http/listen';
import { createPartnerVerifier } from '../infra/auth/partner-jwt';
import { CacheInvalidator } from '../infra/cache/enhancement-cache';
import { createRedis } from '../infra/cache/redis';
import { ApiKeysRepo } from '../infra/db/api-keys-repo';
import { AuditRepo } from '../infra/db/audit-repo';
import { CircuitStatesRepo } from '../infra/db/circuit-states-repo';
import { TenantSettingsRepo } from '../infra/db/tenant-settings-repo';
import { DomainsRepo } from '../infra/db/domains-repo';
import { EventsRepo } from '../infra/db/events-repo';
import { FeedbackRepo } from '../infra/db/feedback-repo';
import { LifecycleRepo } from '../infra/db/lifecycle-repo';
import { OutcomesRepo } from '../infra/db/outcomes-repo';
import { createPool } from '../infra/db/pool';
import { ResolutionRepo } from '../infra/db/resolution-repo';
import { VersionsRepo } from '../infra/db/versions-repo';
import { WebhooksRepo } from '../infra/db/webhooks-repo';
import { eventStreamKey } from '../infra/events/publisher';
import { WebhookDispatcher } from '../infra/events/webhook-dispatch';
import {
  circuitsCheck,
  diskCheck,
  memoryCheck,
  postgresCheck,
  probeCheck,
  redisCheck,
  CHECK_TIMEOUT_MS,
  type Check,
  type CircuitStates,
} from '../infra/observability/health';
import type { Logger } from '../infra/observability/logger';
import { Metrics } from '../infra/observability/metrics';
import { createTracing } from '../infra/observability/tracing';
import { createAnalyzer, type PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import type { ArtifactStore } from '../infra/storage/artifact-store';
import { FieldCipher } from '../infra/crypto/field-cipher';
import { createArtifactStore } from '../infra/storage/encrypted-artifact-store';
import {
  createClaimCheck,
  payloadTenantInterceptor,
  tenantFromMemo,
  type ClaimCheckCodec,
} from '../infra/temporal/claim-check';
import { type EncryptionCodec, encryptionDisabledCheck } from '../infra/temporal/encryption-codec';
import { temporalConnectionOptions } from '../infra/temporal/connection';
import { correlationClientInterceptor } from '../infra/temporal/correlation';
import { RunEraser } from '../infra/temporal/run-erasure';
import { Schedules } from '../infra/temporal/schedules';
import { listDomainNames } from '../poet/domains';
import { createApp } from './app';
import { RateLimits } from './rate-limit';

export interface RunningApi {
  url: string;
  app: Express;
  close(): Promise<void>;
}

/** Counts requests whose response has not finished, so a drain knows when the last one is done. */
function trackInFlight(server: Server) {
  let count = 0;
  const waiters = new Set<() => void>();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    count += 1;
    res.once('close', () => {
      count -= 1;
      if (count === 0) for (const wake of waiters) wake();
    });
  });
  return {
    count: () => count,
    /** True once no request is in flight, false when `timeoutMs` passes first. */
    drained(timeoutMs: number): Promise<boolean> {
      if (count === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(value);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(wake);
      });
    },
  };
}

/** The adapters the use cases run on. */
export interface Adapters {
  config: Config;
  logger: Logger;
  client: Client;
  pool: Pool;
  redis?: Redis;
  analyzer: PythonAnalyzer;
  codec: ClaimCheckCodec;
  encryption: EncryptionCodec | undefined;
  artifacts: ArtifactStore;
  shutdown?: AbortSignal;
}

/** The API's use cases over its adapters: repositories and stores are made here and nowhere else. */
export function createUseCases(a: Adapters): UseCases {
  const { config, logger, client, pool, shutdown } = a;
  const runs = new Runs(client, {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    namespace: config.TEMPORAL_NAMESPACE,
    uiUrl: config.TEMPORAL_UI_URL,
  });
  const fields = new FieldCipher(config.encryption);
  const versions = new VersionsRepo(pool, a.artifacts, fields);
  const domains = new DomainsRepo(pool);
  const invalidator = new CacheInvalidator({
    redis: a.redis,
    prefix: config.REDIS_PREFIX,
    pool,
    schema: config.DATABASE_SCHEMA,
  });
  const dispatcher = WebhookDispatcher.fromConfig(config, { pool, client, logger });
  // The feedback is stored either way: an event whose delivery could not start now is started by a worker's sweep.
  const dispatchWebhooks = async (keys: string[]): Promise<void> => {
    try {
      await dispatcher.dispatch(keys);
    } catch (err) {
      logger.warn('webhook deliveries not started; the sweep will start them', { error: (err as Error).message });
    }
  };
  return {
    enhancements: new Enhancements({ config, client, analyzer: a.analyzer, runs, domains, shutdown }),
    runs,
    functions: new Functions({ config, client, runs, versions, events: new EventsRepo(pool), shutdown }),
    feedback: new Feedback({
      config,
      client,
      runs,
      versions,
      feedback: new FeedbackRepo(pool, fields),
      dispatchWebhooks,
      shutdown,
    }),
    outcomes: new Outcomes(new OutcomesRepo(pool)),
    resolver: new Resolver(new ResolutionRepo(pool)),
    rollouts: new Rollouts({ config, client, versions }),
    domains: new Domains(domains),
    webhooks: new Webhooks(new WebhooksRepo(pool), config),
    tenantData: new TenantData(pool, invalidator),
    tenantSettings: new TenantSettingsRepo(pool),
    tenantLifecycle: new TenantLifecycle({
      repo: new LifecycleRepo(pool, a.artifacts, fields),
      artifacts: a.artifacts,
      invalidator,
      runs: new RunEraser(client, pool, {
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
      }),
      redis: a.redis,
      redisPrefix: config.REDIS_PREFIX,
      eventStream: eventStreamKey(config.REDIS_PREFIX),
    }),
    apiKeys: new ApiKeys(new ApiKeysRepo(pool)),
    audit: new Audit(new AuditRepo(pool), config.OPERATOR_TENANT),
    schedules: new ScheduleControl(new Schedules(client, config), config.OPERATOR_TENANT),
    keyRotation: new KeyRotationStatus(client, {
      schema: config.DATABASE_SCHEMA,
      activeKeyId: config.encryption?.activeKeyId,
      operatorTenant: config.OPERATOR_TENANT,
    }),
    codec: new PayloadCodec(a.codec, a.encryption, config.OPERATOR_TENANT),
  };
}

/** The API's readiness checks: what a request needs (Temporal, PostgreSQL) fails it; the rest degrades it. */
function apiChecks(a: {
  config: Config;
  connection: Connection;
  pool: Pool;
  redis?: Redis;
  circuits: CircuitStates;
  encryption: EncryptionCodec | undefined;
}): Record<string, Check> {
  const { config, connection } = a;
  return {
    temporal: probeCheck(() =>
      connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.healthService.check({})),
    ),
    postgres: postgresCheck(a.pool),
    redis: redisCheck(a.redis),
    llm: circuitsCheck(a.circuits),
    encryption: a.encryption?.check ?? encryptionDisabledCheck,
    disk: diskCheck(config.dataDir, config.HEALTH_DISK_MIN_FREE_MB),
    memory: memoryCheck(config.HEALTH_MAX_HEAP_RATIO),
  };
}

/** The API's composition root: adapters from config, the app, a listening server, and an orderly close. */
export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  if (!config.TEMPORAL_ADDRESS)
    throw new Error('TEMPORAL_ADDRESS is required by the API (poet start provides a dev server)');
  if (!config.DATABASE_URL)
    throw new Error('DATABASE_URL is required by the API (poet start provides an embedded one)');
  // Lazy: the API comes up while Temporal is still starting or away, and answers 503 until it is back.
  const connection = Connection.lazy({
    ...temporalConnectionOptions(config),
    interceptors: [
      makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: config.TEMPORAL_CLIENT_MAX_ATTEMPTS })),
    ],
  });
  const tracing = createTracing(config);
  const claimCheck = createClaimCheck(config, 'api');
  const client = new Client({
    connection,
    dataConverter: claimCheck.dataConverter,
    namespace: config.TEMPORAL_NAMESPACE,
    interceptors: { workflow: [correlationClientInterceptor(), payloadTenantInterceptor(claimCheck.codec)] },
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
  });
  claimCheck.codec.resolveTenantsWith(tenantFromMemo(client));
  const metrics = new Metrics({ domains: listDomainNames(), stages: [], defaultMetrics: true });
  const pool = createPool({
    url: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    max: config.DATABASE_POOL_MAX,
    process: 'api',
  });
  pool.on('error', (err) => logger.warn('idle postgres connection lost', { error: err.message }));
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, logger) : undefined;
  const analyzer = createAnalyzer(config);
  const partner = await createPartnerVerifier(config, redis);
  if (config.AUTH_MODE === 'disabled') {
    logger.warn(
      "AUTHENTICATION IS DISABLED (AUTH_MODE=disabled): every caller is the default tenant's admin; never expose this API",
    );
  }
  const artifacts = createArtifactStore(config, logger);

  const shutdown = new AbortController();
  const circuitStates = new CircuitStatesRepo(pool);
  // A worker missing three reports in a row no longer speaks for its providers.
  const circuits = () => circuitStates.current(config.CIRCUIT_REPORT_SECONDS * 3);
  const app = createApp({
    config,
    logger,
    metrics,
    app: createUseCases({
      config,
      logger,
      client,
      pool,
      redis,
      analyzer,
      codec: claimCheck.codec,
      encryption: claimCheck.encryption,
      artifacts: artifacts.store,
      shutdown: shutdown.signal,
    }),
    limits: new RateLimits(config, redis, logger),
    checks: apiChecks({ config, connection, pool, redis, circuits, encryption: claimCheck.encryption }),
    partner,
    shutdown: shutdown.signal,
  });
  const server = createServer(
    {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: config.HTTP_CONNECTIONS_CHECK_MS,
      keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    app,
  );
  const inFlight = trackInFlight(server);
  const url = await listen(server, config.PORT, config.HOST);
  logger.info('api listening', { url });

  return {
    url,
    app,
    async close() {
      // Stop accepting; callers waiting on a run get 202 and its URL; the rest finish within the grace period;
      // then idle keep-alive connections are closed and the adapters the requests used are released.
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const drained = await inFlight.drained(config.API_SHUTDOWN_GRACE_SECONDS * 1000);
      if (!drained)
        logger.warn('api grace period over; closing the remaining connections', { in_flight: inFlight.count() });
      server.closeAllConnections();
      await closed;
      await analyzer.close();
      artifacts.close();
      redis?.disconnect();
      await pool.end();
      await claimCheck.close();
      await tracing?.flush();
      await connection.close();
    },
  };
}
