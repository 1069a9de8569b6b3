import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  isCancellation,
  ParentClosePolicy,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivateInput, ActivateResult, RegenerateInput, RegenerateResult } from '../contracts/feedback';
import type { PublishedEvent } from '../contracts/events';
import type { AutoRollout, RolloutInput } from '../contracts/rollouts';
import { runDetails } from '../definitions/run-details';
import { classifyRunFailure } from '../definitions/run-failures';
import { functionSearchAttributes, OutcomeKey, ProviderKey } from '../definitions/search-attributes';
import { WORKFLOW_TYPES } from '../definitions/workflow-types';
import { activity } from './activities';
import { failureMessage, metadataOf, startedEvent } from './enhance';
import { generateValidated } from './generation';

const assessFeedback = activity('assessFeedback');
const activate = activity('activate');
const storeVersion = activity('storeVersion');
const publish = activity('publish');

/**
 * Starts the rollout of a regenerated candidate, abandoned by this run (it outlives it by hours). Refused when the
 * function has one under way: the candidate then stays stored, inactive, for an operator to roll out later.
 */
async function startRollout(rollout: AutoRollout, input: RolloutInput, domain: string): Promise<boolean> {
  const { tenant_id, function_name, candidate_version, baseline_version } = input;
  try {
    await startChild(WORKFLOW_TYPES.rollout, {
      workflowId: rollout.workflow_id,
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      memo: { tenant_id },
      typedSearchAttributes: functionSearchAttributes(tenant_id, function_name, domain),
      staticSummary: `roll out ${function_name} v${candidate_version} against v${baseline_version}, steps ${input.steps.join('/')} %`,
      staticDetails: runDetails({
        function_name,
        version: `v${candidate_version}`,
        domain,
        trigger: 'rollout',
        parent_version: baseline_version,
        tenant_id,
      }),
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/**
 * Feedback-driven regeneration of one version: Train decides from its feedback (src/poet/train.ts); when it
 * must change, the same generate → validate → store → publish activities make version N+1 with the learned
 * guidance, which deprecates N. When the tenant's settings ask for rollouts, N+1 is stored beside N instead and a
 * rolloutVersion run exposes it gradually. One run per (function, version) at a time: concurrent feedback joins it.
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
      ...(assessment.rollout ? { inactive: true } : {}),
    });
    const events: PublishedEvent[] = [];
    if (stored.created) {
      const rollout = assessment.rollout && {
        rollout_started: await startRollout(
          assessment.rollout,
          {
            ...assessment.rollout.plan,
            tenant_id,
            function_name,
            candidate_version: stored.version,
            baseline_version: version,
          },
          request.domain,
        ),
      };
      events.push({
        type: 'version.created',
        payload: { version: stored.version, regenerated_from: version, reason: guidance.reason, ...rollout },
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
