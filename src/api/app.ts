import express, { type Express } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import type { UseCases } from '../app';
import { NotFoundError } from '../app/errors';
import type { Config } from '../config';
import type { PartnerVerifier } from '../contracts/security';
import type { Checks } from '../http/health';
import { enhancementMetrics, httpMetrics, requestContext, type Logger, type Metrics } from '../http/observability';
import { requestId } from '../http/request-id';
import { authenticate } from './auth';
import { auditTrail } from './auth-audit';
import { errorHandler } from './errors';
import { jsonBody } from './json-body';
import type { RateLimits } from './rate-limit';
import { mountRoutes } from './route';
import { ROUTES } from './routes';

/** What the app is built from; the composition root (server.ts) makes every part of it. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  app: UseCases;
  limits: RateLimits;
  /** The readiness checks of /health/ready and /metrics. */
  checks: Checks;
  /** Verifier of the partner endpoint's tokens; absent when no partner key is configured. */
  partner?: PartnerVerifier;
  /** Aborted when the process starts draining (SIGTERM). */
  shutdown?: AbortSignal;
}

export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (config.TRUST_PROXY_HOPS > 0) app.set('trust proxy', config.TRUST_PROXY_HOPS);
  const allowed = new Set(config.CORS_ALLOWED_ORIGINS);

  app.use(requestId());
  // Every later middleware, route and log line runs with the request id, and every answer is counted.
  app.use(requestContext(logger));
  app.use(httpMetrics(deps.metrics));
  app.use(helmet());
  // Only listed browser origins get CORS headers; requests without an Origin (agents, curl) are unaffected.
  app.use(cors({ origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin)), maxAge: 600 }));
  const routeDeps = {
    app: deps.app,
    config,
    limits: deps.limits,
    checks: deps.checks,
    metrics: deps.metrics,
    routes: ROUTES,
    shutdown: deps.shutdown,
  };
  // Public routes (health, metrics, docs, dashboard files) answer before any budget, credential or body is looked at.
  app.use(
    mountRoutes(
      ROUTES.filter((r) => r.auth === 'public'),
      routeDeps,
    ),
  );
  app.use(auditTrail({ audit: deps.app.audit, logger }));
  // Order: per-IP budget, then credentials and roles, and only then is a body read.
  app.use(deps.limits.perIp());
  app.use(authenticate({ config, keys: deps.app.apiKeys, partner: deps.partner, limits: deps.limits, routes: ROUTES }));
  app.use(jsonBody(config.BODY_LIMIT_BYTES));
  app.use(['/api/v1/functions/enhance', '/v1/external/enhance'], enhancementMetrics(deps.metrics));
  app.use(
    mountRoutes(
      ROUTES.filter((r) => r.auth !== 'public'),
      routeDeps,
    ),
  );
  app.use((req) => {
    throw new NotFoundError('route_not_found', `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(logger, deps.metrics));
  return app;
}
