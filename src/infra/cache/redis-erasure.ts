import type Redis from 'ioredis';

const STREAM_BATCH = 500;

/** True when `text` holds the tenant id as a whole word: ids are [a-z0-9_-], so neighbours outside that set bound it. */
export function namesTenant(text: string, tenantId: string): boolean {
  let at = text.indexOf(tenantId);
  while (at !== -1) {
    const before = at === 0 ? '' : text[at - 1]!;
    const after = text[at + tenantId.length] ?? '';
    if (!/[a-z0-9_-]/.test(before) && !/[a-z0-9_-]/.test(after)) return true;
    at = text.indexOf(tenantId, at + 1);
  }
  return false;
}

/**
 * Removes what the service's Redis keys (under `prefix`) still hold of a tenant once its cache was invalidated:
 * keys that name it (rate-limit counters, cache indexes) and its entries of the event stream. The number removed.
 */
export async function eraseTenantFromRedis(
  redis: Redis,
  opts: { prefix: string; stream: string; tenantId: string },
): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${opts.prefix}*`, 'COUNT', 1000);
    const named = keys.filter((key) => namesTenant(key.slice(opts.prefix.length), opts.tenantId));
    if (named.length > 0) removed += await redis.del(...named);
    cursor = next;
  } while (cursor !== '0');

  let start = '-';
  for (;;) {
    const entries = await redis.xrange(opts.stream, start, '+', 'COUNT', STREAM_BATCH);
    const ids = entries
      .filter(([, fields]) =>
        fields.some((value, i) => i % 2 === 1 && fields[i - 1] === 'tenant_id' && value === opts.tenantId),
      )
      .map(([id]) => id);
    if (ids.length > 0) removed += await redis.xdel(opts.stream, ...ids);
    if (entries.length < STREAM_BATCH) break;
    start = `(${entries[entries.length - 1]![0]}`;
  }
  return removed;
}
