import type { Request, RequestHandler, Response } from 'express';
import { EnhanceRequest } from '../contracts/enhance';
import type { ErrorClass } from '../contracts/error-classes';
import { runChecks, type Check } from '../infra/observability/health';
import { withLogContext, type Logger } from '../infra/observability/logger';
import { bounded, HTTP_METHODS, type Metrics } from '../infra/observability/metrics';
import { requestIdOf } from './request-id';

export type { Logger, Metrics };

/** The route template that answered (`/api/v1/runs/:id`), or `unmatched`: never the raw path, so labels stay bounded. */
export function routeOf(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  // A route on several paths (an alias) names the one requested when it is a plain path, else its first.
  const path = Array.isArray(route?.path)
    ? ((route.path as unknown[]).find((p) => p === req.path) ?? route.path[0])
    : route?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

function onDone(res: Response, fn: () => void): void {
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    fn();
  };
  res.once('finish', once);
  res.once('close', once);
}

/**
 * Runs the rest of the request inside a log context that carries its id (./request-id assigns it): every log line
 * of the request, and the workflow the request starts, get the same id. At level `http`, one access line per request.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    withLogContext({ request_id: requestIdOf(res) ?? undefined }, () => {
      const started = performance.now();
      onDone(res, () => {
        logger.http('request', {
          method: req.method,
          path: req.path,
          route: routeOf(req),
          status: res.statusCode,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
        });
      });
      next();
    });
  };
}

/** `http_requests_total` and `http_request_duration_seconds` for every request, labelled by route template. */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    onDone(res, () => {
      const method = bounded(req.method, HTTP_METHODS);
      const route = routeOf(req);
      stop({ method, route });
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
    });
    next();
  };
}

const DEFAULT_DOMAIN = EnhanceRequest.shape.domain.parse(undefined);

/**
 * What an enhancement answer means for `poet_enhancement_requests_total{status}`: a result the template made after every
 * LLM provider failed is `partial`; an error answer is the caller's (`rejected`), the run's (`failed`) or ours
 * (`error`) by the class the error handler gave it.
 */
function enhancementStatus(res: Response, fallback: boolean): string {
  const code = res.statusCode;
  if (code === 200) return fallback ? 'partial' : 'completed';
  if (code === 202) return 'accepted';
  const errorClass = res.locals.errorClass as ErrorClass | undefined;
  if (errorClass?.category === 'input') return 'rejected';
  if (code < 500 || code === 502) return 'failed';
  return 'error';
}

/**
 * Mounted (app.use) on the enhance paths: in-flight gauge, outcome counter and, for answers with a result, the
 * duration. Middleware rather than a route, so the route tables list each route once; it reads the answer's
 * `metadata.fallback` on its way out.
 */
export function enhancementMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    metrics.activeEnhancements.inc();
    const started = performance.now();
    let fallback = false;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      fallback = (body as { metadata?: { fallback?: unknown } } | undefined)?.metadata?.fallback === true;
      return json(body);
    };
    onDone(res, () => {
      metrics.activeEnhancements.dec();
      const body = req.body as { domain?: unknown } | undefined;
      const domain = metrics.domain(typeof body?.domain === 'string' ? body.domain : DEFAULT_DOMAIN);
      metrics.enhancementRequests.inc({ domain, status: enhancementStatus(res, fallback) });
      if (res.statusCode === 200) metrics.enhancementDuration.observe({ domain }, (performance.now() - started) / 1000);
    });
    next();
  };
}

/**
 * Prometheus exposition of a registry, after running the readiness checks so `poet_ready` and
 * `poet_health_check_status` are current (alert rules cannot read /health/ready's JSON); `extra` (which may also update metrics) appends more text.
 */
export async function sendMetrics(
  res: Response,
  metrics: Metrics,
  checks: Record<string, Check>,
  extra?: () => Promise<string>,
): Promise<void> {
  const [readiness, more] = await Promise.all([runChecks(checks), extra ? extra() : Promise.resolve('')]);
  metrics.recordReadiness(readiness);
  const ours = await metrics.exposition();
  res.setHeader('Content-Type', ours.contentType);
  res.send(more ? `${ours.body}\n${more}` : ours.body);
}

export function metricsEndpoint(
  metrics: Metrics,
  checks: Record<string, Check>,
  extra?: () => Promise<string>,
): RequestHandler {
  return (_req, res) => sendMetrics(res, metrics, checks, extra);
}
