import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  CachedEnhancement,
  CacheOutcome,
  EnhanceMetadata,
  EnhanceRequest,
  EnhanceResult,
  EnhanceWorkflowInput,
} from '../contracts/enhance';
import type { PublishedEvent, PublishInput } from '../contracts/events';
import type { GenerationUsage } from '../contracts/generation';
import { enhanceResultUpdate, progressQuery } from '../definitions/messages';
import { classifyRunFailure } from '../definitions/run-failures';
import { CacheOutcomeKey, OutcomeKey, ProviderKey } from '../definitions/search-attributes';
import { localActivity } from './activities';
import { generateValidated, type GenerateValidatedOutput } from './generation';
import { StageHistory } from './progress';

const NO_USAGE: GenerationUsage = { calls: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, latency_ms: 0 };

// The whole run is in-process work but for generate and validate: the lookup, the cache write, the version and the
// events are local activities, run in the workflow task that decided them. Task dispatches are most of the server's
// and the worker's CPU per run (bench/RESULTS.md): a hit is one workflow task, a miss three. Each local round is a trip
// between the workflow thread and the worker's main thread (~4 ms here), so a hit reads the cache and the active
// version in one, and a miss writes the cache alongside the version.
const cacheLookupWithVersion = localActivity('cacheLookupWithVersion');
const cacheStore = localActivity('cacheStore');
const storeVersion = localActivity('storeVersion');
const publish = localActivity('publish');

/** Perceive-Operate-Enforce-Train enhancement of one function: cache → generate → validate → store → publish. */
export async function enhanceFunction(input: EnhanceWorkflowInput): Promise<EnhanceResult> {
  const { request, input_hash, normalized_input_hash, tenant_id } = input;
  const { workflowId, runId } = workflowInfo();
  const run = { workflow_id: workflowId, run_id: runId };
  const publishEvents = (events: PublishedEvent[], relay: PublishInput['relay'] = 'inline') =>
    publish({ tenant_id, function_name: request.function_name, ...run, events: [startedEvent(), ...events], relay });
  const stages = new StageHistory();
  setHandler(progressQuery, () => ({ kind: 'single', stage: stages.stage, history: stages.history }));

  // Every caller of this run (the starter and identical requests joining it) waits here for the same answer.
  let answer: { result: EnhanceResult } | { failure: unknown } | undefined;
  setHandler(enhanceResultUpdate, async () => {
    await condition(() => answer !== undefined);
    if ('failure' in answer!) throw answer.failure;
    return answer!.result;
  });

  try {
    stages.enter('cache');
    const lookup = await cacheLookupWithVersion({
      input_hash,
      normalized_input_hash,
      tenant_id,
      function_name: request.function_name,
      original_code: request.original_code,
    });
    const fromLineage = lookup.lineage;
    let enhancement: CachedEnhancement;
    let generation: GenerateValidatedOutput | undefined;
    let cached: Promise<void> | undefined;
    if (fromLineage) {
      enhancement = fromLineage.enhancement;
    } else if (lookup.hit) {
      enhancement = lookup.hit.value;
    } else {
      generation = await generateValidated({ request, tenant_id }, (stage, detail) => stages.enter(stage, detail));
      enhancement = generation.enhancement;
      // Written alongside the version (the commit point below), so like it not canceled half-way; the cache only
      // saves work, so a failure to write it is logged and does not fail a run whose version is stored.
      cached = CancellationScope.nonCancellable(() =>
        cacheStore({
          key: lookup.key,
          l2_key: lookup.l2_key,
          value: { ...enhancement, source: request.original_code },
          tenant_id,
          function_name: request.function_name,
        }),
      ).catch((err: unknown) => log.warn('enhancement not cached', { error: failureMessage(err) }));
    }
    // Answered from stored work (a cache entry, or the lineage's active version) rather than generated.
    const cache = lookup.hit || fromLineage ? 'hit' : 'miss';
    const { artifact, validation } = enhancement;
    upsertSearchAttributes([
      { key: CacheOutcomeKey, value: cache },
      { key: ProviderKey, value: artifact.provider },
    ]);

    const computed = metadataOf(request, enhancement, cache, generation);
    const metadata = fromLineage ? { ...computed, lineage: fromLineage.lineage } : computed;
    stages.enter('store');
    // An input the active version answers already needs no write: the lookup read it, so the answer stays in-process.
    // Storing is the commit point: once it starts, the run finishes even if canceled, so a version is never half-published.
    const stored =
      lookup.active_version !== null
        ? { version: lookup.active_version, created: false, deprecated: null }
        : await CancellationScope.nonCancellable(() =>
            storeVersion({
              tenant_id,
              ...run,
              input_hash,
              normalized_input_hash,
              parent_version: fromLineage?.parent_version ?? null,
              trigger: 'request',
              request,
              artifact,
              metadata,
            }),
          );
    await cached;
    const result: EnhanceResult = {
      function_name: request.function_name,
      enhanced_code: { python: artifact.python, dana: artifact.dana },
      version: stored.version,
      // A module byte-identical to the active version's is answered with it: the lineage says so.
      metadata: 'lineage' in stored && stored.lineage ? { ...metadata, lineage: stored.lineage } : metadata,
      run,
    };
    // A hit answers before it publishes: its callers wait for nothing but in-process work (the answer leaves with the
    // workflow task, after the local publish). A miss answers once its events are out, so a 200 means the run's effects
    // are all visible.
    if (cache === 'hit') answer = { result };

    const events: PublishedEvent[] = [];
    if (lookup.hit) events.push({ type: 'cache.hit', payload: { layer: lookup.hit.layer } });
    if (stored.created)
      events.push({ type: 'version.created', payload: { version: stored.version, domain: request.domain } });
    if (stored.deprecated !== null)
      events.push({ type: 'version.deprecated', payload: { version: stored.deprecated } });
    events.push({
      type: 'enhancement.completed',
      payload: { version: stored.version, cache, safety_level: validation.safety_level },
    });
    stages.enter('publish');
    // A hit's callers have their answer once this task completes, which waits for this local activity: the rows are
    // committed here, the stream follows from the worker's background relay.
    await CancellationScope.nonCancellable(() => publishEvents(events, cache === 'hit' ? 'deferred' : 'inline'));

    upsertSearchAttributes([{ key: OutcomeKey, value: 'completed' }]);
    stages.enter('completed');
    answer ??= { result };
    // Past the commit point a cancellation no longer ends the run as canceled: its version and events are out.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return result;
  } catch (err) {
    const outcome = isCancellation(err) ? 'canceled' : 'failed';
    stages.enter(outcome, failureMessage(err));
    upsertSearchAttributes([{ key: OutcomeKey, value: outcome }]);
    if (outcome === 'failed')
      await publishEvents([
        { type: 'enhancement.failed', payload: { reason: failureMessage(err), ...classifyRunFailure(err) } },
      ]);
    answer ??= { failure: err };
    // A canceled run ends at once; a failed one lets its waiting callers read the failure first.
    if (outcome === 'failed') await condition(allHandlersFinished);
    throw err;
  }
}

export function metadataOf(
  request: EnhanceRequest,
  enhancement: CachedEnhancement,
  cache: CacheOutcome,
  generation?: GenerateValidatedOutput,
): EnhanceMetadata {
  const { artifact, validation } = enhancement;
  return {
    domain: request.domain,
    optimize_for: request.optimize_for ?? null,
    optimizations: artifact.optimizations,
    safety_level: validation.safety_level,
    cache,
    provider: artifact.provider,
    enhancer_version: artifact.enhancer_version,
    samples_run: validation.samples_run,
    params: artifact.params,
    fallback: generation?.fallback ?? false,
    attempts: generation?.attempts ?? [],
    usage: generation?.usage ?? NO_USAGE,
    findings: validation.findings ?? [],
    ...(artifact.runtime_version !== undefined ? { runtime_version: artifact.runtime_version } : {}),
    ...(validation.evidence !== undefined
      ? { validation: { ...validation.evidence, declared_rules: validation.declared_rules ?? 0 } }
      : {}),
  };
}

/** Published with the outcome (one activity fewer on the hot path), dated when the run started. */
export function startedEvent(): PublishedEvent {
  return {
    type: 'enhancement.started',
    payload: { workflow_type: workflowInfo().workflowType },
    occurred_at: workflowInfo().startTime.toISOString(),
  };
}

export function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && 'cause' in current && current.cause instanceof ApplicationFailure)
    current = current.cause;
  return current instanceof Error ? current.message : String(err);
}
