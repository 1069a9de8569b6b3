import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from '../config';
import { createArtifactStore } from '../infra/storage/artifact-store';
import { temporalConnectionOptions } from '../infra/temporal/connection';
import { CircuitStatesRepo } from '../infra/db/circuit-states-repo';
import { createClaimCheck, payloadTenantInterceptor, tenantFromMemo } from '../infra/temporal/claim-check';
import { createPool } from '../infra/db/pool';
import type { Logger } from '../infra/observability/logger';
import { createAnalyzer } from '../infra/sandbox/python-analyzer';
import { correlationClientInterceptor } from '../infra/temporal/correlation';
import { Metrics } from '../infra/observability/metrics';
import { createRedis } from '../infra/cache/redis';
import { createTracing } from '../infra/observability/tracing';
import { listDomainNames } from '../poet/domains';
import { createApp } from './app';
import { createPartnerVerifier } from './auth-partner';
import { listen } from '../http/listen';

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

/** The API's composition root: adapters from config, the app, a listening server, and an orderly close. */
export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required by the API (poet start provides a dev server)');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the API (poet start provides an embedded one)');
  // Lazy: the API comes up while Temporal is still starting or away, and answers 503 until it is back.
  const connection = Connection.lazy({
    ...temporalConnectionOptions(config),
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: config.TEMPORAL_CLIENT_MAX_ATTEMPTS }))],
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
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, max: config.DATABASE_POOL_MAX, process: 'api' });
  pool.on('error', (err) => logger.warn('idle postgres connection lost', { error: err.message }));
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, logger) : undefined;
  const analyzer = createAnalyzer(config);
  const partner = await createPartnerVerifier(config, redis);
  if (config.AUTH_MODE === 'disabled') {
    logger.warn('AUTHENTICATION IS DISABLED (AUTH_MODE=disabled): every caller is the default tenant\'s admin; never expose this API');
  }
  const artifacts = createArtifactStore(config, logger);

  const shutdown = new AbortController();
  const circuitStates = new CircuitStatesRepo(pool);
  // A worker missing three reports in a row no longer speaks for its providers.
  const circuits = () => circuitStates.current(config.CIRCUIT_REPORT_SECONDS * 3);
  const app = createApp({ config, logger, metrics, client, connection, pool, redis, analyzer, partner, circuits, codec: claimCheck.codec, artifacts: artifacts.store, shutdown: shutdown.signal });
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
      if (!drained) logger.warn('api grace period over; closing the remaining connections', { in_flight: inFlight.count() });
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
