import { Router } from 'express';
import type { Pool } from 'pg';
import { StatsQuery } from '../../contracts/stats';
import { generationStats } from '../../infra/stats-repo';
import { BadRequestError, zodDetails } from '../errors';
import { principalOf } from '../principal';

/** GET /api/v1/stats?window=1h|6h|24h|7d|30d: the caller's tenant's generations in that window. */
export function statsRouter(deps: { pool: Pool }): Router {
  const router = Router();
  router.get('/api/v1/stats', async (req, res) => {
    const parsed = StatsQuery.safeParse(req.query);
    if (!parsed.success) throw new BadRequestError('invalid stats query', zodDetails(parsed.error).map((d) => ({ ...d, path: d.path === '(body)' ? 'query' : `query.${d.path}` })));
    res.json(await generationStats(deps.pool, principalOf(res).tenantId, parsed.data));
  });
  return router;
}
