import { LiveBody, ReadinessBody } from '../../contracts/health';
import { sendLiveness, sendReadiness } from '../../http/health';
import { sendMetrics } from '../../http/observability';
import { json, route, text } from '../route';

/** Health and metrics: public, no tenant data (metrics labels are bounded: no function names or ids). */
export const healthRoutes = [
  route({
    operationId: 'getLiveness',
    method: 'GET',
    path: '/health/live',
    tags: ['health'],
    summary: 'The process is up',
    auth: 'public',
    responses: { 200: json(LiveBody, 'Alive') },
    handler: ({ res }) => sendLiveness(res),
  }),
  route({
    operationId: 'getReadiness',
    method: 'GET',
    path: '/health/ready',
    tags: ['health'],
    summary: 'Per-check readiness: Temporal, PostgreSQL, Redis, LLM circuits, disk, memory',
    auth: 'public',
    responses: {
      200: json(ReadinessBody, 'Ready (possibly degraded)'),
      503: json(ReadinessBody, 'A required check is failing'),
    },
    handler: ({ res }, deps) => sendReadiness(res, deps.checks),
  }),
  // Prometheus scrapes without credentials; keep the port off the public internet (docs/operations.md, Observability).
  route({
    operationId: 'getMetrics',
    method: 'GET',
    path: '/metrics',
    tags: ['observability'],
    summary: 'Prometheus metrics',
    auth: 'public',
    responses: { 200: text(['text/plain'], 'Prometheus text exposition') },
    handler: ({ res }, deps) => sendMetrics(res, deps.metrics, deps.checks),
  }),
];
