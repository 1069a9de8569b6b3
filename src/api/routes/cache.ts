import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { FunctionName } from '../../contracts/enhance';
import { readCacheStats, type CacheInvalidator } from '../../infra/cache/enhancement-cache';
import { ServiceUnavailableError } from '../errors';
import { principalOf, requireRole } from '../principal';
import { parseParam } from './functions';

const InvalidateQuery = z.strictObject({ function_name: FunctionName.optional() });

export function cacheRouter(deps: { pool: Pool; invalidator: CacheInvalidator }): Router {
  const router = Router();

  router.get('/api/v1/cache/stats', async (_req, res) => {
    res.json(await readCacheStats(deps.pool, principalOf(res).tenantId));
  });

  router.delete('/api/v1/cache', requireRole('operator'), async (req, res) => {
    const { function_name } = parseParam(InvalidateQuery, req.query, 'query');
    const result = await deps.invalidator.invalidate(principalOf(res).tenantId, function_name);
    if (!result) throw new ServiceUnavailableError('the shared cache (Redis) is unreachable; nothing was invalidated', 5);
    res.json({ function_name: function_name ?? null, ...result });
  });

  return router;
}
