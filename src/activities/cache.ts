import type { CachedEnhancement } from '../contracts/enhance';
import type { CacheHit, CacheKeys, EnhancementCache } from '../infra/cache/enhancement-cache';
import { canonicalJson, sha256 } from '../infra/hash';
import type { ProviderChain } from '../infra/llm/provider-chain';
import type { FeedbackRepo } from '../infra/db/feedback-repo';
import type { VersionsRepo } from '../infra/db/versions-repo';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import { ENHANCER_VERSION } from '../poet/template';
import { createLineage, type LineageAnswer } from './lineage';

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
  /** The caller's source: an L2 hit answers with it embedded. Absent in runs started before lineage: no L2 then. */
  original_code?: string;
}

export interface CacheLookup {
  key: string;
  l2_key?: string;
  hit: CacheHit | null;
  /** The active version answers this very input: the run answers with it and stores nothing. */
  active_version: number | null;
  /** The function's lineage answers (then `hit` is null): its enhancement, and why. */
  lineage: Omit<LineageAnswer, 'active_version' | 'feedback_examples'> | null;
}

/** Feedback examples the cached validation ran: none where it predates them. */
const examplesValidated = (value: CachedEnhancement) => value.validation.evidence?.inputs.feedback ?? 0;

export function createCacheActivities(
  cache: EnhancementCache,
  providers: ProviderChain,
  versions: VersionsRepo,
  feedback: FeedbackRepo,
  analyzer: PythonAnalyzer,
) {
  const producer = producerOf(providers);
  // The active version answers for this worker's enhancers only: a new template release enhances afresh.
  const lineage = createLineage(
    versions,
    analyzer,
    (enhancerVersion) =>
      enhancerVersion === producer.enhancer_version ||
      (enhancerVersion.startsWith('llm:') && producer.providers.length > 1),
  );
  const scopeOf = (tenantId: string | undefined, functionName: string | undefined) => ({
    tenantId: tenantId ?? 'default',
    functionName: functionName ?? '',
  });

  const keysOf = (input: CacheLookupInput): CacheKeys => ({
    exact: cacheKeyFor(input.input_hash, producer),
    ...(input.normalized_input_hash ? { normalized: cacheKeyFor(input.normalized_input_hash, producer) } : {}),
  });

  return {
    /**
     * The function's lineage first (its active version may answer this input already, improved by feedback since
     * the cache entry was made), then the cache: what a run needs before generating, in one local activity (each one
     * more is a round trip between the workflow and the worker before the answer).
     */
    async cacheLookupWithVersion(
      input: CacheLookupInput & { tenant_id: string; function_name: string },
    ): Promise<CacheLookup> {
      const keys = keysOf(input);
      const found = { key: keys.exact, ...(keys.normalized ? { l2_key: keys.normalized } : {}) };
      const scope = scopeOf(input.tenant_id, input.function_name);
      // Examples are only ever added: an enhancement validated with fewer than the function has now missed some, so
      // it answers nothing and the run validates again (its result replaces a cache entry). Read once, when needed:
      // with the active version when the lineage answers, else by a query of its own.
      const answered = await lineage.answer(input, () => cache.get({ exact: keys.exact }, scope));
      let examples = answered ? Promise.resolve(answered.feedback_examples) : undefined;
      const validatedNow = async (value: CachedEnhancement) => {
        examples ??= feedback.exampleCount(input.tenant_id, input.function_name);
        return examplesValidated(value) >= (await examples);
      };
      if (answered && (await validatedNow(answered.enhancement))) {
        const { active_version, feedback_examples: _, ...rest } = answered;
        return { ...found, hit: null, active_version, lineage: rest };
      }
      const hit = await cache.get(keys, scope, (similar) =>
        lineage.reembed(similar, input.function_name, input.original_code),
      );
      if (hit && !(await validatedNow(hit.value))) return { ...found, hit: null, active_version: null, lineage: null };
      return { ...found, hit: hit ?? null, active_version: null, lineage: null };
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
