import type Redis from 'ioredis';
import { EnhancementCache } from '../../src/infra/cache/enhancement-cache';
import { createLogger } from '../../src/infra/observability/logger';
import { createRedis } from '../../src/infra/cache/redis';
import { uniqueSuffix } from '../helpers/stack';
import type { CachedEnhancement } from '../../src/contracts/enhance';

const logger = createLogger({ level: 'error', service: 'test', silent: true });
const value: CachedEnhancement = {
  artifact: {
    python: 'x = 1\n',
    dana: 'x = 1\n',
    params: { retries: 3 },
    optimizations: [],
    provider: 'template',
    enhancer_version: 'template-1',
  },
  validation: { safety_level: 'high', samples_run: 1, duration_ms: 12 },
};

describe('EnhancementCache (real Redis)', () => {
  const prefix = `test:cache_${uniqueSuffix()}:`;
  let redis: Redis;
  const scope = { tenantId: 'default', functionName: 'f' };
  const k = (exact: string) => ({ exact });
  const caches = () => new EnhancementCache({ redis, prefix, maxEntries: 10, ttlSeconds: 0, logger });

  beforeAll(async () => {
    redis = createRedis(process.env.REDIS_URL!, logger);
    await new Promise((resolve) => redis.once('ready', resolve));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  test('a value stored by one process is an L1 hit for another, then an L0 hit', async () => {
    await caches().set(k('k1'), scope, value);
    const other = caches();
    expect(await other.get(k('k1'), scope)).toEqual({ value, layer: 'l1' });
    expect(await other.get(k('k1'), scope)).toEqual({ value, layer: 'l0' });
    expect(await other.get(k('absent'), scope)).toBeUndefined();
  });

  test('a corrupt or foreign entry in Redis is a miss, not an error', async () => {
    await redis.set(`${prefix}cache:bad-json`, '{not json');
    await redis.set(`${prefix}cache:bad-shape`, JSON.stringify({ python: 1 }));
    expect(await caches().get(k('bad-json'), scope)).toBeUndefined();
    expect(await caches().get(k('bad-shape'), scope)).toBeUndefined();
  });

  test('a TTL is set on L1 entries when configured', async () => {
    const ttlCache = new EnhancementCache({ redis, prefix, maxEntries: 10, ttlSeconds: 60, logger });
    await ttlCache.set(k('k-ttl'), scope, value);
    const ttl = await redis.ttl(`${prefix}cache:k-ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });
});
