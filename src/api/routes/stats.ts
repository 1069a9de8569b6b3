import { Router } from 'express';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { CostsQuery } from '../../contracts/dashboard';
import { StatsQuery } from '../../contracts/stats';
import { dailyCosts, generationStats } from '../../infra/db/stats-repo';
import { BadRequestError, zodDetails } from '../errors';
import { principalOf } from '../principal';

/** A query string parsed by its schema; bad input is a 400 naming `query.<field>`. */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown, what: string): T {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new BadRequestError(`invalid ${what} query`, zodDetails(parsed.error).map((d) => ({ ...d, path: d.path === '(body)' ? 'query' : `query.${d.path}` })));
  return parsed.data;
}

/**
 * GET /api/v1/stats?window=1h|6h|24h|7d|30d: the caller's tenant's generations in that window;
 * GET /api/v1/costs?days=N: its spend and tokens per day and provider (the dashboard's charts).
 */
export function statsRouter(deps: { pool: Pool }): Router {
  const router = Router();
  router.get('/api/v1/stats', async (req, res) => {
    res.json(await generationStats(deps.pool, principalOf(res).tenantId, parseQuery(StatsQuery, req.query, 'stats')));
  });
  router.get('/api/v1/costs', async (req, res) => {
    const { days } = parseQuery(CostsQuery, req.query, 'costs');
    res.json(await dailyCosts(deps.pool, principalOf(res).tenantId, days));
  });
  return router;
}
