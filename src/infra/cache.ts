import type Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { CachedEnhancement } from '../contracts/enhance';
import type { Logger } from './logger';

export type CacheLayer = 'l0' | 'l1';
export interface CacheHit {
  value: CachedEnhancement;
  layer: CacheLayer;
}

/**
 * L0: in-process LRU; L1: Redis (shared by every worker). Redis faults never fail a lookup or a
 * store: the enhancement proceeds uncached and the fault is logged.
 */
export class EnhancementCache {
  private readonly l0: LRUCache<string, CachedEnhancement>;

  constructor(
    private readonly opts: { redis?: Redis; prefix: string; maxEntries: number; ttlSeconds: number; logger: Logger },
  ) {
    this.l0 = new LRUCache({ max: Math.max(1, opts.maxEntries), ...(opts.ttlSeconds > 0 ? { ttl: opts.ttlSeconds * 1000 } : {}) });
  }

  async get(key: string): Promise<CacheHit | undefined> {
    const local = this.l0.get(key);
    if (local) return { value: local, layer: 'l0' };
    const raw = await this.redisCall('get', (redis) => redis.get(this.redisKey(key)));
    if (!raw) return undefined;
    const parsed = CachedEnhancement.safeParse(parseJson(raw));
    if (!parsed.success) return undefined;
    this.l0.set(key, parsed.data);
    return { value: parsed.data, layer: 'l1' };
  }

  async set(key: string, value: CachedEnhancement): Promise<void> {
    this.l0.set(key, value);
    const json = JSON.stringify(value);
    await this.redisCall('set', (redis) =>
      this.opts.ttlSeconds > 0
        ? redis.set(this.redisKey(key), json, 'EX', this.opts.ttlSeconds)
        : redis.set(this.redisKey(key), json),
    );
  }

  private redisKey(key: string): string {
    return `${this.opts.prefix}cache:${key}`;
  }

  private async redisCall<T>(op: string, call: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    const { redis } = this.opts;
    if (!redis || redis.status !== 'ready') return undefined;
    try {
      return await call(redis);
    } catch (err) {
      this.opts.logger.warn('redis cache bypassed', { op, error: (err as Error).message });
      return undefined;
    }
  }
}

/** A corrupt entry is a miss, not a failed lookup. */
function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
