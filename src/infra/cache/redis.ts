import Redis from 'ioredis';
import type { Logger } from '../observability/logger';

/**
 * A Redis connection that never blocks the caller while Redis is away: commands fail fast
 * (no offline queue) and the client keeps reconnecting in the background.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn('redis unavailable, continuing without it', { error: err.message });
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis reachable again');
    down = false;
  });
  return redis;
}
