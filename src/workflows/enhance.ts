import {
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CachedEnhancement, EnhanceMetadata, EnhanceResult, EnhanceWorkflowInput } from '../contracts/enhance';
import { FailureType } from '../contracts/errors';
import type { EventType } from '../contracts/events';
import { CacheOutcomeKey, OutcomeKey, ProviderKey } from './search-attributes';

const nonRetryableErrorTypes = [FailureType.InvalidInput, FailureType.ValidationFailed];

// Local: in-process lookups that must be fast on the cache-hit path; a fault there degrades to a miss.
const localCache = { startToCloseTimeout: '5s', retry: { initialInterval: '100ms', maximumAttempts: 3 } } as const;
const { cacheLookup } = proxyLocalActivities<Activities>({ ...localCache, summary: 'look up the enhancement cache (in-process, then Redis)' });
const { cacheStore } = proxyLocalActivities<Activities>({ ...localCache, summary: 'keep the validated enhancement in the cache' });

const { generate } = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
  summary: 'generate the POET-enhanced Python and Dana code',
});

const { validate } = proxyActivities<Activities>({
  // The sandbox enforces its own wall clock well inside this.
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes },
  summary: 'validate in the python3 sandbox: compile, import, compare with the original',
});

// Persistence retries until PostgreSQL is back: a version is never dropped on the floor.
const persistence = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
} as const;
const { storeVersion } = proxyActivities<Activities>({ ...persistence, summary: 'store the version: PostgreSQL rows and artifact files' });
const { publish } = proxyActivities<Activities>({ ...persistence, summary: 'publish the events: outbox rows, then the Redis stream' });

/** Perceive-Operate-Enforce-Train enhancement of one function: cache → generate → validate → store → publish. */
export async function enhanceFunction(input: EnhanceWorkflowInput): Promise<EnhanceResult> {
  const { request, input_hash, tenant_id } = input;
  const { workflowId, runId } = workflowInfo();
  const run = { workflow_id: workflowId, run_id: runId };
  const publishEvents = (events: { type: EventType; payload: Record<string, unknown> }[]) =>
    publish({ tenant_id, function_name: request.function_name, ...run, events });

  try {
    const lookup = await cacheLookup({ input_hash });
    let enhancement: CachedEnhancement;
    if (lookup.hit) {
      enhancement = lookup.hit.value;
    } else {
      const artifact = await generate({ request });
      const validation = await validate({ request, artifact });
      enhancement = { artifact, validation };
      await cacheStore({ key: lookup.key, value: enhancement });
    }
    const cache = lookup.hit ? 'hit' : 'miss';
    const { artifact, validation } = enhancement;
    upsertSearchAttributes([
      { key: CacheOutcomeKey, value: cache },
      { key: ProviderKey, value: artifact.provider },
    ]);

    const metadata: EnhanceMetadata = {
      domain: request.domain,
      optimize_for: request.optimize_for ?? null,
      optimizations: artifact.optimizations,
      safety_level: validation.safety_level,
      cache,
      provider: artifact.provider,
      enhancer_version: artifact.enhancer_version,
      samples_run: validation.samples_run,
      params: artifact.params,
    };
    const stored = await storeVersion({ tenant_id, ...run, input_hash, request, artifact, metadata });

    const events: { type: EventType; payload: Record<string, unknown> }[] = [];
    if (lookup.hit) events.push({ type: 'cache.hit', payload: { layer: lookup.hit.layer } });
    if (stored.created) events.push({ type: 'version.created', payload: { version: stored.version, domain: request.domain } });
    if (stored.deprecated !== null) events.push({ type: 'version.deprecated', payload: { version: stored.deprecated } });
    events.push({ type: 'enhancement.completed', payload: { version: stored.version, cache, safety_level: validation.safety_level } });
    await publishEvents(events);

    upsertSearchAttributes([{ key: OutcomeKey, value: 'completed' }]);
    return {
      function_name: request.function_name,
      enhanced_code: { python: artifact.python, dana: artifact.dana },
      version: stored.version,
      metadata,
      run,
    };
  } catch (err) {
    if (!isCancellation(err)) {
      upsertSearchAttributes([{ key: OutcomeKey, value: 'failed' }]);
      await publishEvents([{ type: 'enhancement.failed', payload: { reason: failureMessage(err) } }]);
    }
    throw err;
  }
}

function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && 'cause' in current && current.cause instanceof ApplicationFailure) current = current.cause;
  return current instanceof Error ? current.message : String(err);
}
