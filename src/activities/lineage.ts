import { CachedEnhancement, EnhanceMetadata, type Lineage } from '../contracts/enhance';
import type { CacheHit, CacheLayer } from '../infra/cache/enhancement-cache';
import { codeDigest, type ActiveVersion, type VersionsRepo } from '../infra/db/versions-repo';
import type { PythonAnalyzer } from '../infra/sandbox/python-analyzer';
import { reembedSource } from '../poet/template';

/** The function's lineage answers the request: with the active version's enhancement, as it is or re-embedded. */
export interface LineageAnswer {
  enhancement: CachedEnhancement;
  lineage: Lineage;
  /** Set when the active version answers this very input: the run stores nothing and answers with it. */
  active_version: number | null;
  /** Set when the request is a cosmetic edit of the active version's input: the new version's parent. */
  parent_version: number | null;
  /** The cache layer that held the active version's modules; null when they were read from the artifact store. */
  layer: CacheLayer | null;
  /** The function's feedback examples now, read with the active version. */
  feedback_examples: number;
}

export interface LineageInput {
  tenant_id: string;
  function_name: string;
  input_hash: string;
  normalized_input_hash?: string;
  /** The caller's source; absent in runs started before lineage. */
  original_code?: string;
}

function origin(active: Pick<ActiveVersion, 'trigger' | 'parent_version' | 'reactivated'>): string {
  const made =
    active.trigger === 'request' || active.parent_version === null
      ? ''
      : ` (regenerated from v${active.parent_version} by ${active.trigger === 'feedback' ? 'feedback' : 'scheduled re-evaluation'})`;
  return `${made}${active.reactivated ? ', made active again by a rollback,' : ''}`;
}

const EXPLAIN: Record<Lineage['relation'], (v: number, from: string) => string> = {
  same_input: (v, from) => `v${v}${from} is active and already answers this input: answered as it is, no new version`,
  cosmetic_edit: (v, from) =>
    `v${v}${from} is active and answers this input up to comments, layout and docstrings: its enhancement, with your source embedded, is the new version`,
  identical_code: (v, from) =>
    `the enhanced module is byte-identical to v${v}${from}, the active version: answered with it, no new version`,
};

/** Why the active version answered, for `metadata.lineage`. */
export function lineageOf(relation: Lineage['relation'], active: ActiveVersion): Lineage {
  return {
    version: active.version,
    relation,
    trigger: active.trigger,
    parent_version: active.parent_version,
    reactivated: active.reactivated,
    reason: EXPLAIN[relation](active.version, origin(active)),
  };
}

/** `current` tells whether a version's enhancer is one this worker answers with (see cache.ts: producerOf). */
export function createLineage(
  versions: VersionsRepo,
  analyzer: PythonAnalyzer,
  current: (enhancerVersion: string) => boolean,
) {
  /** The enhancement with `code` embedded in place of the source it was made from; undefined when it cannot be. */
  async function reembed(
    enhancement: CachedEnhancement,
    functionName: string,
    code: string | undefined,
  ): Promise<CachedEnhancement | undefined> {
    if (code === undefined || enhancement.source === undefined) return undefined;
    if (code === enhancement.source) return enhancement;
    const analysis = await analyzer.analyze(code);
    const fn = analysis.ok ? analysis.functions.find((f) => f.name === functionName) : undefined;
    const modules = fn && reembedSource(enhancement.artifact, enhancement.source, { code, analysis: fn });
    return modules && { ...enhancement, artifact: { ...enhancement.artifact, ...modules }, source: code };
  }

  /** The active version's enhancement as a cache entry would hold it; undefined for versions stored before its fields were. */
  async function enhancementOf(input: LineageInput, active: ActiveVersion): Promise<CachedEnhancement | undefined> {
    const metadata = EnhanceMetadata.safeParse(active.metadata);
    if (!metadata.success) return undefined;
    const m = metadata.data;
    const code = await versions.readCode(
      { tenantId: input.tenant_id, functionName: input.function_name, version: active.version },
      active.storage,
    );
    const runtime = m.runtime_version === undefined ? {} : { runtime_version: m.runtime_version };
    const parsed = CachedEnhancement.safeParse({
      artifact: {
        ...code,
        params: active.params,
        optimizations: m.optimizations,
        provider: active.provider,
        enhancer_version: active.enhancer_version,
        ...runtime,
      },
      validation: {
        safety_level: m.safety_level,
        findings: m.findings,
        samples_run: m.samples_run,
        duration_ms: m.validation?.duration_ms ?? 0,
        ...runtime,
        ...(m.validation ? { evidence: m.validation } : {}),
      },
      source: active.request?.original_code,
    });
    return parsed.success ? parsed.data : undefined;
  }

  return {
    reembed,

    /**
     * The answer when the function's active version already answers this input (exactly, or up to cosmetic edits of
     * its code), made by an enhancer of this worker; null otherwise: the cache and generation answer. `cached` is the
     * exact cache entry of the input: when it holds the active version's very modules, they are not read again.
     */
    async answer(input: LineageInput, cached: () => Promise<CacheHit | undefined>): Promise<LineageAnswer | null> {
      const active = await versions.activeVersion(input.tenant_id, input.function_name);
      if (!active?.request || !current(active.enhancer_version)) return null;
      const same = active.input_hash === input.input_hash;
      const cosmetic =
        !same &&
        input.normalized_input_hash !== undefined &&
        active.normalized_input_hash === input.normalized_input_hash;
      if (!same && !cosmetic) return null;
      const entry = same ? await cached() : undefined;
      const fromCache = entry && active.code_sha256 === codeDigest(entry.value.artifact) ? entry : undefined;
      const stored = fromCache?.value ?? (await enhancementOf(input, active));
      if (!stored) return null;
      if (same)
        return {
          enhancement: stored,
          lineage: lineageOf('same_input', active),
          active_version: active.version,
          parent_version: null,
          layer: fromCache?.layer ?? null,
          feedback_examples: active.feedback_examples,
        };
      const enhancement = await reembed(stored, input.function_name, input.original_code);
      return enhancement
        ? {
            enhancement,
            lineage: lineageOf('cosmetic_edit', active),
            active_version: null,
            parent_version: active.version,
            layer: null,
            feedback_examples: active.feedback_examples,
          }
        : null;
    },
  };
}
