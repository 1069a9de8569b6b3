import express, { type Express } from 'express';
import type { Client, Connection } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { Config } from '../config';
import type { Logger } from '../infra/logger';
import type { PythonAnalyzer } from '../infra/python-analyzer';
import { errorHandler, NotFoundError } from './errors';
import { singleTenantPrincipal } from './principal';
import { DomainsRepo } from '../infra/domains-repo';
import { domainsRouter } from './routes/domains';
import { enhanceRouter } from './routes/enhance';
import { healthRouter } from './routes/health';
import { runsRouter } from './routes/runs';
import { Runs } from './runs';

export interface AppDeps {
  config: Config;
  logger: Logger;
  client: Client;
  connection: Connection;
  pool: Pool;
  redis?: Redis;
  analyzer: PythonAnalyzer;
  /** Aborted when the process starts draining (SIGTERM). */
  shutdown?: AbortSignal;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: deps.config.BODY_LIMIT_BYTES, strict: true }));

  const runs = new Runs(deps.client);
  app.use(healthRouter(deps));
  app.use(singleTenantPrincipal());
  const domains = new DomainsRepo(deps.pool);
  app.use(enhanceRouter({ ...deps, runs, domains }));
  app.use(domainsRouter(domains));
  app.use(runsRouter(runs));
  app.use((req) => {
    throw new NotFoundError('route_not_found', `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(deps.logger));
  return app;
}
