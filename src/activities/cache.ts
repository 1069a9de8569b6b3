import type { CachedEnhancement } from '../contracts/enhance';
import type { CacheHit, EnhancementCache } from '../infra/cache';
import { canonicalJson, sha256 } from '../infra/hash';
import { ENHANCER_VERSION } from '../poet/template';

/** Everything that changes the output is in the key: the request (via its hash) and the enhancer that answers it. */
export function cacheKeyFor(inputHash: string): string {
  return sha256(canonicalJson({ input_hash: inputHash, enhancer_version: ENHANCER_VERSION, providers: ['template'] }));
}

export function createCacheActivities(cache: EnhancementCache) {
  return {
    async cacheLookup(input: { input_hash: string }): Promise<{ key: string; hit: CacheHit | null }> {
      const key = cacheKeyFor(input.input_hash);
      return { key, hit: (await cache.get(key)) ?? null };
    },
    async cacheStore(input: { key: string; value: CachedEnhancement }): Promise<void> {
      await cache.set(input.key, input.value);
    },
  };
}
