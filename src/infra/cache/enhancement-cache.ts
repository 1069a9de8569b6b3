import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import { CachedEnhancement } from '../../contracts/enhance';
import type { CacheStats } from '../../contracts/versions';
import type { Logger } from '../observability/logger';
import { publishInvalidation } from './invalidation';

/** l0: in-process exact; l1: Redis exact; l2: normalized code (comments, layout, docstrings ignored), memory then Redis. */
export const CACHE_LAYERS = ['l0', 'l1', 'l2'] as const;
export type CacheLayer = (typeof CACHE_LAYERS)[number];

export interface CacheHit {
  value: CachedEnhancement;
  layer: CacheLayer;
}

/** Whose entry it is: invalidation by function and statistics by tenant. */
export interface CacheScope {
  tenantId: string;
  functionName: string;
}

export interface CacheKeys {
  exact: string;
  /** Absent when the code could not be normalized: L2 is skipped. */
  normalized?: string;
}

interface Counts {
  hits: number;
  misses: number;
  errors: number;
}

interface Entry {
  value: CachedEnhancement;
  scope: CacheScope;
}

export interface CacheOptions {
  redis?: Redis;
  prefix: string;
  maxEntries: number;
  ttlSeconds: number;
  logger: Logger;
}

const indexKey = (prefix: string, scope: CacheScope) => `${prefix}cache:index:${scope.tenantId}:${scope.functionName}`;

/**
 * The enhancement cache of one worker. Redis faults never fail a lookup or a store: the lookup goes on
 * without Redis, the fault is logged and counted as an error of the layer, and the enhancement proceeds.
 */
export class EnhancementCache {
  private readonly l0: LRUCache<string, Entry>;
  private readonly counts = new Map<string, Counts>();
  /** In-process entries are kept only while invalidations reach this process (see holdLocal). */
  private holding = true;

  constructor(private readonly opts: CacheOptions) {
    this.l0 = new LRUCache({
      max: Math.max(1, opts.maxEntries),
      ...(opts.ttlSeconds > 0 ? { ttl: opts.ttlSeconds * 1000 } : {}),
    });
  }

  /**
   * `fromSimilar` turns an L2 entry into the answer for this very input (the caller's own source re-embedded);
   * undefined from it makes the L2 entry a miss.
   */
  async get(
    keys: CacheKeys,
    scope: CacheScope,
    fromSimilar: (similar: CachedEnhancement) => Promise<CachedEnhancement | undefined> = async (similar) => similar,
  ): Promise<CacheHit | undefined> {
    const local = this.holding ? this.l0.get(keys.exact) : undefined;
    this.count(scope, 'l0', local ? 'hits' : 'misses');
    if (local) return { value: local.value, layer: 'l0' };

    const shared = await this.fromRedis(keys.exact, scope, 'l1');
    if (shared) {
      this.remember(keys.exact, { value: shared, scope });
      return { value: shared, layer: 'l1' };
    }

    if (keys.normalized === undefined) return undefined;
    const l2Key = `n:${keys.normalized}`;
    const inMemory = this.holding ? this.l0.get(l2Key)?.value : undefined;
    if (inMemory) this.count(scope, 'l2', 'hits');
    const found = inMemory ?? (await this.fromRedis(l2Key, scope, 'l2'));
    const similar = found && (await fromSimilar(found));
    if (!similar) return undefined;
    // Kept under the exact key as well: a repeat of this very source is then an exact hit, in any worker.
    await this.set(keys, scope, similar);
    return { value: similar, layer: 'l2' };
  }

  async set(keys: CacheKeys, scope: CacheScope, value: CachedEnhancement): Promise<void> {
    const redisKeys = [keys.exact, ...(keys.normalized === undefined ? [] : [`n:${keys.normalized}`])];
    for (const key of redisKeys) this.remember(key, { value, scope });
    const json = JSON.stringify(value);
    await this.redisCall(scope, 'l1', 'set', async (redis) => {
      const multi = redis.multi();
      for (const key of redisKeys) {
        if (this.opts.ttlSeconds > 0) multi.set(this.redisKey(key), json, 'EX', this.opts.ttlSeconds);
        else multi.set(this.redisKey(key), json);
      }
      multi.sadd(indexKey(this.opts.prefix, scope), ...redisKeys.map((k) => this.redisKey(k)));
      await multi.exec();
    });
  }

  /** Drops this process's entries of a tenant (or one of its functions). */
  evictLocal(tenantId: string, functionName?: string): number {
    const keys = this.localKeys(tenantId, functionName);
    for (const key of keys) this.l0.delete(key);
    return keys.length;
  }

  /** Drops the unflushed counts of an erased tenant, so no cache_stats row of it is written after its erasure. */
  forgetCounts(tenantId: string): void {
    for (const id of this.counts.keys()) if (id.startsWith(`${tenantId}\u0000`)) this.counts.delete(id);
  }

  /** How many entries of a tenant (or one of its functions) this process holds. */
  localEntries(tenantId: string, functionName?: string): number {
    return this.localKeys(tenantId, functionName).length;
  }

  /**
   * Whether invalidations reach this process (its listening session is up): while they do not, it keeps nothing in
   * process, so an invalidation it could not hear never leaves an entry behind; losing them drops everything held.
   */
  holdLocal(listening: boolean): void {
    if (!listening) this.l0.clear();
    this.holding = listening;
  }

  /** Adds the counts since the last flush to the cache_stats table; counts that fail to land are kept for the next. */
  async flushStats(pool: Pool): Promise<void> {
    const pending = [...this.counts.entries()];
    if (pending.length === 0) return;
    this.counts.clear();
    try {
      while (pending.length > 0) {
        const [id, c] = pending[0]!;
        const [tenantId, layer] = id.split('\u0000') as [string, CacheLayer];
        await pool.query(
          `INSERT INTO cache_stats (tenant_id, layer, hits, misses, errors) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, layer) DO UPDATE SET hits = cache_stats.hits + EXCLUDED.hits,
             misses = cache_stats.misses + EXCLUDED.misses, errors = cache_stats.errors + EXCLUDED.errors, updated_at = now()`,
          [tenantId, layer, c.hits, c.misses, c.errors],
        );
        pending.shift();
      }
    } finally {
      for (const [id, c] of pending) this.addCounts(id, c);
    }
  }

  private localKeys(tenantId: string, functionName: string | undefined): string[] {
    return [...this.l0.entries()]
      .filter(
        ([, entry]) =>
          entry.scope.tenantId === tenantId &&
          (functionName === undefined || entry.scope.functionName === functionName),
      )
      .map(([key]) => key);
  }

  private remember(key: string, entry: Entry): void {
    if (this.holding) this.l0.set(key, entry);
  }

  private async fromRedis(key: string, scope: CacheScope, layer: 'l1' | 'l2'): Promise<CachedEnhancement | undefined> {
    if (!this.opts.redis) {
      this.count(scope, layer, 'misses');
      return undefined;
    }
    const raw = await this.redisCall(scope, layer, 'get', (redis) => redis.get(this.redisKey(key)));
    if (raw === undefined) return undefined; // bypassed: counted as an error, not a miss
    const parsed = raw === null ? undefined : CachedEnhancement.safeParse(parseJson(raw));
    const value = parsed?.success ? parsed.data : undefined;
    this.count(scope, layer, value ? 'hits' : 'misses');
    return value;
  }

  private redisKey(key: string): string {
    return `${this.opts.prefix}cache:${key}`;
  }

  private async redisCall<T>(
    scope: CacheScope,
    layer: CacheLayer,
    op: string,
    call: (redis: Redis) => Promise<T>,
  ): Promise<T | undefined> {
    const { redis } = this.opts;
    if (!redis) return undefined;
    if (redis.status !== 'ready') {
      this.count(scope, layer, 'errors');
      return undefined;
    }
    try {
      return await call(redis);
    } catch (err) {
      this.count(scope, layer, 'errors');
      this.opts.logger.warn('redis cache bypassed', { op, layer, error: (err as Error).message });
      return undefined;
    }
  }

  private count(scope: CacheScope, layer: CacheLayer, field: keyof Counts): void {
    this.addCounts(`${scope.tenantId}\u0000${layer}`, { hits: 0, misses: 0, errors: 0, [field]: 1 });
  }

  private addCounts(id: string, c: Counts): void {
    const current = this.counts.get(id) ?? { hits: 0, misses: 0, errors: 0 };
    this.counts.set(id, {
      hits: current.hits + c.hits,
      misses: current.misses + c.misses,
      errors: current.errors + c.errors,
    });
  }
}

/**
 * The API side of invalidation: deletes the shared (Redis) entries and tells every worker, over PostgreSQL, to drop its
 * own; PostgreSQL is there with or without Redis.
 */
export class CacheInvalidator {
  constructor(private readonly opts: { redis?: Redis; prefix: string; pool: Pool; schema: string }) {}

  /**
   * Undefined when Redis is configured but unreachable: its entries could not be deleted, so nothing is done.
   * `erased` also tells workers to forget the tenant's unflushed cache statistics.
   */
  async invalidate(
    tenantId: string,
    functionName?: string,
    opts: { erased?: boolean } = {},
  ): Promise<{ shared_entries: number; workers_notified: number } | undefined> {
    const { redis, prefix, pool, schema } = this.opts;
    if (redis && redis.status !== 'ready') return undefined;
    let deleted = 0;
    if (redis) {
      const indexes =
        functionName !== undefined
          ? [indexKey(prefix, { tenantId, functionName })]
          : await this.tenantIndexes(redis, tenantId);
      for (const index of indexes) {
        const members = await redis.smembers(index);
        if (members.length) deleted += await redis.del(...members);
        await redis.del(index);
      }
    }
    const workers = await publishInvalidation(pool, schema, {
      tenant_id: tenantId,
      ...(functionName !== undefined ? { function_name: functionName } : {}),
      ...(opts.erased ? { erased: true } : {}),
    });
    return { shared_entries: deleted, workers_notified: workers };
  }

  private async tenantIndexes(redis: Redis, tenantId: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${indexKey(this.opts.prefix, { tenantId, functionName: '' })}*`,
        'COUNT',
        500,
      );
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found;
  }
}

/** Flushed counts of a tenant, every layer present (zeros before its first lookup). */
export async function readCacheStats(pool: Pool, tenantId: string): Promise<CacheStats> {
  const res = await pool.query<{ layer: CacheLayer; hits: string; misses: string; errors: string }>(
    'SELECT layer, hits, misses, errors FROM cache_stats WHERE tenant_id = $1',
    [tenantId],
  );
  const layers = CACHE_LAYERS.map((layer) => {
    const row = res.rows.find((r) => r.layer === layer);
    const hits = Number(row?.hits ?? 0);
    const misses = Number(row?.misses ?? 0);
    return {
      layer,
      hits,
      misses,
      errors: Number(row?.errors ?? 0),
      hit_rate: hits + misses ? hits / (hits + misses) : null,
    };
  });
  // Every lookup starts at L0, so its hits plus misses are the lookups; any layer's hit serves one.
  const lookups = (layers[0]?.hits ?? 0) + (layers[0]?.misses ?? 0);
  const served = layers.reduce((sum, l) => sum + l.hits, 0);
  return { layers, overall_hit_rate: lookups ? served / lookups : null };
}

/** A corrupt entry is a miss, not a failed lookup. */
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
