import type { Pool } from 'pg';
import type { CostsBody } from '../contracts/dashboard';
import type { StatsBody, StatsQuery } from '../contracts/stats';
import type { CacheInvalidated, CacheStats } from '../contracts/versions';
import { readCacheStats, type CacheInvalidator } from '../infra/cache/enhancement-cache';
import { dailyCosts, generationStats } from '../infra/db/stats-repo';
import { UnavailableError } from './errors';

/** What a tenant's calls added up to: cache counts, LLM call statistics and spend; and emptying its cache. */
export class TenantData {
  constructor(
    private readonly pool: Pool,
    private readonly invalidator: CacheInvalidator,
  ) {}

  cacheStats(tenantId: string): Promise<CacheStats> {
    return readCacheStats(this.pool, tenantId);
  }

  async invalidateCache(tenantId: string, functionName: string | undefined): Promise<CacheInvalidated> {
    const result = await this.invalidator.invalidate(tenantId, functionName);
    if (!result) throw new UnavailableError('the shared cache (Redis) is unreachable; nothing was invalidated', 5);
    return { function_name: functionName ?? null, ...result };
  }

  generationStats(tenantId: string, query: StatsQuery): Promise<StatsBody> {
    return generationStats(this.pool, tenantId, query);
  }

  dailyCosts(tenantId: string, days: number): Promise<CostsBody> {
    return dailyCosts(this.pool, tenantId, days);
  }
}
