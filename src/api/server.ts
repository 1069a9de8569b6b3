import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Config } from '../config';
import { createPool } from '../infra/db';
import type { Logger } from '../infra/logger';
import { createAnalyzer } from '../infra/python-analyzer';
import { createRedis } from '../infra/redis';
import { createApp } from './app';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/** The API's composition root: adapters from config, the app, a listening server, and an orderly close. */
export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required by the API (poet start provides a dev server)');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the API (poet start provides an embedded one)');
  // Lazy: the API comes up while Temporal is still starting or away, and answers 503 until it is back.
  const connection = Connection.lazy({
    address: config.TEMPORAL_ADDRESS,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: config.TEMPORAL_CLIENT_MAX_ATTEMPTS }))],
  });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, max: config.DATABASE_POOL_MAX });
  pool.on('error', (err) => logger.warn('idle postgres connection lost', { error: err.message }));
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, logger) : undefined;
  const analyzer = createAnalyzer(config);

  const app = createApp({ config, logger, client, connection, pool, redis, analyzer });
  const server = createServer(
    {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: config.HTTP_CONNECTIONS_CHECK_MS,
      keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    app,
  ).listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  logger.info('api listening', { url });

  return {
    url,
    async close() {
      // Stop accepting, let in-flight requests finish, then release the adapters they used.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await analyzer.close();
      redis?.disconnect();
      await pool.end();
      await connection.close();
    },
  };
}
