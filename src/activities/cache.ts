import type { CachedEnhancement } from '../contracts/enhance';
import type { CacheHit, CacheKeys, EnhancementCache } from '../infra/cache/enhancement-cache';
import { canonicalJson, sha256 } from '../infra/hash';
import type { ProviderChain } from '../infra/llm/provider-chain';
import type { FeedbackRepo } from '../infra/db/feedback-repo';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { ENHANCER_VERSION } from '../poet/template';

/** What answers a request besides its input: the enhancer version and the provider chain (name and model each, template last). */
export type Producer = { enhancer_version: string; providers: string[] };

export function producerOf(providers: ProviderChain): Producer {
  return {
    enhancer_version: ENHANCER_VERSION,
    providers: [...providers.names().map((name) => `${name}:${providers.get(name)?.settings.model ?? ''}`), 'template'],
  };
}

/** The exact key: the request (via its hash) and what answers it. */
export function cacheKeyFor(inputHash: string, producer: Producer): string {
  return sha256(canonicalJson({ input_hash: inputHash, ...producer }));
}

export interface CacheLookupInput {
  input_hash: string;
  /** The API's hash of the input with the code replaced by its AST hash; absent in runs started before L2. */
  normalized_input_hash?: string;
  tenant_id?: string;
  function_name?: string;
}

/** Feedback examples the cached validation ran: none where it predates them. */
const examplesValidated = (value: CachedEnhancement) => value.validation.evidence?.inputs.feedback ?? 0;

export function createCacheActivities(
  cache: EnhancementCache,
  providers: ProviderChain,
  versions: VersionsRepo,
  feedback: FeedbackRepo,
) {
  const producer = producerOf(providers);
  const scopeOf = (tenantId: string | undefined, functionName: string | undefined) => ({
    tenantId: tenantId ?? 'default',
    functionName: functionName ?? '',
  });

  const cacheLookup = async (
    input: CacheLookupInput,
  ): Promise<{ key: string; l2_key?: string; hit: CacheHit | null }> => {
    const keys: CacheKeys = { exact: cacheKeyFor(input.input_hash, producer) };
    if (input.normalized_input_hash) keys.normalized = cacheKeyFor(input.normalized_input_hash, producer);
    const hit = await cache.get(keys, scopeOf(input.tenant_id, input.function_name));
    return { key: keys.exact, ...(keys.normalized ? { l2_key: keys.normalized } : {}), hit: hit ?? null };
  };

  return {
    /**
     * The lookup and, on a hit, the active version if it holds this input already: what a hit needs, in one
     * local activity (each one more is a round trip between the workflow and the worker before the answer).
     */
    async cacheLookupWithVersion(input: CacheLookupInput & { tenant_id: string; function_name: string }) {
      const lookup = await cacheLookup(input);
      if (!lookup.hit) return { ...lookup, active_version: null };
      const [examples, active_version] = await Promise.all([
        feedback.exampleCount(input.tenant_id, input.function_name),
        versions.activeVersionFor({
          tenantId: input.tenant_id,
          functionName: input.function_name,
          inputHash: input.input_hash,
          enhancerVersion: lookup.hit.value.artifact.enhancer_version,
        }),
      ]);
      // Examples are only ever added: an entry validated with fewer than the function has now missed some, so the
      // run validates again (and its result replaces the entry).
      if (examplesValidated(lookup.hit.value) < examples) return { ...lookup, hit: null, active_version: null };
      return { ...lookup, active_version };
    },
    async cacheStore(input: {
      key: string;
      l2_key?: string;
      value: CachedEnhancement;
      tenant_id?: string;
      function_name?: string;
    }): Promise<void> {
      const keys = { exact: input.key, ...(input.l2_key ? { normalized: input.l2_key } : {}) };
      await cache.set(keys, scopeOf(input.tenant_id, input.function_name), input.value);
    },
  };
}
