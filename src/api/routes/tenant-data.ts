import { z } from 'zod';
import { FunctionName } from '../../contracts/enhance';
import { StatsBody, StatsQuery } from '../../contracts/stats';
import { CostsBody, CostsQuery } from '../../contracts/dashboard';
import { CacheInvalidated, CacheStats } from '../../contracts/versions';
import { json, route } from '../route';

/** What the tenant's calls added up to: cache counts, LLM call statistics and spend (the dashboard's charts). */
export const tenantDataRoutes = [
  route({
    operationId: 'getCacheStats',
    method: 'GET',
    path: '/api/v1/cache/stats',
    tags: ['cache'],
    summary: "Hit, miss and error counts per cache layer (l0, l1, l2) of the caller's tenant",
    auth: 'api_key',
    role: 'viewer',
    responses: { 200: json(CacheStats, 'Counts and hit rates') },
    handler: ({ principal }, deps) => deps.app.tenantData.cacheStats(principal.tenantId),
  }),
  route({
    operationId: 'invalidateCache',
    method: 'DELETE',
    path: '/api/v1/cache',
    tags: ['cache'],
    summary: 'Invalidate the cache of the tenant, or of one function (operator role)',
    auth: 'api_key',
    role: 'operator',
    query: z.strictObject({ function_name: FunctionName.optional() }),
    responses: { 200: json(CacheInvalidated, 'Invalidated') },
    handler: ({ query, principal }, deps) =>
      deps.app.tenantData.invalidateCache(principal.tenantId, query.function_name),
  }),
  route({
    operationId: 'getGenerationStats',
    method: 'GET',
    path: '/api/v1/stats',
    tags: ['stats'],
    summary: 'Generation statistics: duration percentiles, success rate, cost and tokens, per domain and provider',
    auth: 'api_key',
    role: 'viewer',
    query: StatsQuery,
    responses: { 200: json(StatsBody, 'Statistics of the window') },
    handler: ({ query, principal }, deps) => deps.app.tenantData.generationStats(principal.tenantId, query),
  }),
  route({
    operationId: 'getDailyCosts',
    method: 'GET',
    path: '/api/v1/costs',
    tags: ['stats'],
    summary: "Spend and tokens per UTC day and provider over the last `days` days (the dashboard's charts)",
    auth: 'api_key',
    role: 'viewer',
    query: CostsQuery,
    responses: { 200: json(CostsBody, 'Rows per day and provider') },
    handler: ({ query, principal }, deps) => deps.app.tenantData.dailyCosts(principal.tenantId, query.days),
  }),
];
