import { isCancellation, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ActivateInput, ActivateResult, RegenerateInput, RegenerateResult } from '../contracts/feedback';
import type { PublishedEvent } from '../contracts/events';
import { classifyRunFailure } from '../definitions/run-failures';
import { OutcomeKey, ProviderKey } from '../definitions/search-attributes';
import { activity } from './activities';
import { failureMessage, metadataOf, startedEvent } from './enhance';
import { generateValidated } from './generation';

const assessFeedback = activity('assessFeedback');
const activate = activity('activate');
const storeVersion = activity('storeVersion');
const publish = activity('publish');

/**
 * Feedback-driven regeneration of one version: Train decides from its feedback (src/poet/train.ts); when it
 * must change, the same generate → validate → store → publish activities make version N+1 with the learned
 * guidance, which deprecates N. One run per (function, version) at a time: concurrent feedback joins it.
 */
export async function regenerateFromFeedback(input: RegenerateInput): Promise<RegenerateResult> {
  const { tenant_id, function_name, version } = input;
  const { workflowId, runId } = workflowInfo();
  const run = { workflow_id: workflowId, run_id: runId };
  const publishEvents = (events: PublishedEvent[]) =>
    publish({ tenant_id, function_name, ...run, events: [startedEvent(), ...events] });

  const assessment = await assessFeedback(input);
  if (!assessment.regenerate) {
    upsertSearchAttributes([{ key: OutcomeKey, value: 'accepted' }]);
    return {
      function_name,
      status: 'accepted',
      version,
      ...(assessment.reasons.length ? { update_reason: assessment.reasons.join('; ') } : {}),
      run,
    };
  }
  const { request, input_hash, normalized_input_hash, guidance } = assessment.regenerate;
  try {
    // The same provider chain, validation and repair loop as enhanceFunction, with the learned guidance.
    const generation = await generateValidated({ request, tenant_id, guidance });
    const { artifact, validation } = generation.enhancement;
    const metadata = metadataOf(request, generation.enhancement, 'bypass', generation);
    const stored = await storeVersion({
      tenant_id,
      ...run,
      input_hash,
      normalized_input_hash,
      parent_version: version,
      trigger: input.trigger ?? 'feedback',
      request,
      artifact,
      metadata,
      guidance,
    });
    const events: PublishedEvent[] = [];
    if (stored.created) {
      events.push({
        type: 'version.created',
        payload: { version: stored.version, regenerated_from: version, reason: guidance.reason },
      });
    }
    if (stored.deprecated !== null)
      events.push({ type: 'version.deprecated', payload: { version: stored.deprecated } });
    events.push({
      type: 'enhancement.completed',
      payload: { version: stored.version, cache: 'bypass', safety_level: validation.safety_level },
    });
    await publishEvents(events);
    upsertSearchAttributes([
      { key: OutcomeKey, value: 'regenerated' },
      { key: ProviderKey, value: artifact.provider },
    ]);
    return {
      function_name,
      status: 'requires_update',
      version,
      new_version: stored.version,
      update_reason: guidance.reason,
      run,
    };
  } catch (err) {
    if (!isCancellation(err)) {
      upsertSearchAttributes([{ key: OutcomeKey, value: 'failed' }]);
      await publishEvents([
        {
          type: 'enhancement.failed',
          payload: { reason: failureMessage(err), regenerating_from: version, ...classifyRunFailure(err) },
        },
      ]);
    }
    throw err;
  }
}

/** Rollback (or roll forward): makes one existing version the active one, and says so in the events. */
export async function activateVersion(input: ActivateInput): Promise<ActivateResult> {
  const { workflowId, runId } = workflowInfo();
  const run = { workflow_id: workflowId, run_id: runId };
  const { current, previous } = await activate(input);
  if (previous !== current)
    await publish({
      tenant_id: input.tenant_id,
      function_name: input.function_name,
      ...run,
      events: activationEvents(current, previous),
    });
  return { function_name: input.function_name, current_version: current, previous_version: previous, run };
}

/** What switching the active version from `previous` to `current` publishes (a rollback, or a rollout's promotion). */
export function activationEvents(current: number, previous: number | null): PublishedEvent[] {
  const events: PublishedEvent[] = [{ type: 'version.activated', payload: { version: current, previous } }];
  if (previous !== null) events.push({ type: 'version.deprecated', payload: { version: previous } });
  return events;
}
