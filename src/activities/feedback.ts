import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../contracts/failure-types';
import type { ActivateInput, Assessment, RegenerateInput } from '../contracts/feedback';
import type { AutoRollout } from '../contracts/rollouts';
import { rolloutWorkflowId } from '../definitions/workflow-ids';
import type { FeedbackRepo } from '../infra/db/feedback-repo';
import type { TenantSettingsRepo } from '../infra/db/tenant-settings-repo';
import { sha256 } from '../infra/hash';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { getDomain } from '../poet/domains';
import { decide, operateFromParams } from '../poet/train';

const REFERENCE_OPERATE = { retries: 3, timeout_s: 30 };

const unknownVersion = (input: { function_name: string; version: number }) =>
  ApplicationFailure.create({
    type: FailureType.InvalidInput,
    nonRetryable: true,
    message: `function ${input.function_name} has no version ${input.version}`,
  });

/**
 * Train's decision on the feedback about one version, and what a regeneration would start from: the one decision
 * that feedback-driven regeneration and scheduled re-evaluation share.
 */
export async function assessVersion(
  versions: VersionsRepo,
  feedback: FeedbackRepo,
  input: RegenerateInput,
): Promise<Assessment> {
  const ref = { tenantId: input.tenant_id, functionName: input.function_name, version: input.version };
  const source = await versions.versionSource(ref);
  if (!source) throw unknownVersion(input);
  const signals = await feedback.signals(input.tenant_id, input.function_name, input.version);
  const accepted = (reasons: string[]): Assessment => ({ status: 'accepted', reasons, feedback_count: signals.length });
  if (source.status !== 'active') return accepted([`version ${input.version} is no longer the active version`]);

  const domainOperate = source.request ? getDomain(source.request.domain)?.operate : undefined;
  const decision = decide(signals, operateFromParams(source.params, domainOperate ?? REFERENCE_OPERATE));
  if (!decision.requiresUpdate) return accepted([]);
  if (!source.request)
    return accepted([...decision.reasons, 'version predates stored requests and cannot be regenerated']);

  const guidance = {
    reason: decision.reasons.join('; '),
    suggestions: decision.suggestions,
    operate: decision.operate,
    perceive: decision.perceive,
  };
  return {
    status: 'requires_update',
    reasons: decision.reasons,
    feedback_count: signals.length,
    regenerate: {
      request: source.request,
      // The new version answers the same input, better: an enhance of it then finds the new version active.
      input_hash: source.input_hash,
      ...(source.normalized_input_hash ? { normalized_input_hash: source.normalized_input_hash } : {}),
      guidance,
    },
  };
}

export function createFeedbackActivities(
  versions: VersionsRepo,
  feedback: FeedbackRepo,
  tenantSettings: TenantSettingsRepo,
) {
  return {
    /** Train's decision; a regeneration also gets the rollout its tenant's settings ask for, if any. */
    async assessFeedback(input: RegenerateInput): Promise<Assessment & { rollout?: AutoRollout }> {
      const assessment = await assessVersion(versions, feedback, input);
      if (!assessment.regenerate) return assessment;
      const { rollout } = await tenantSettings.get(input.tenant_id);
      if (!rollout) return assessment;
      const workflowId = rolloutWorkflowId(sha256(input.tenant_id), input.function_name);
      return { ...assessment, rollout: { plan: rollout, workflow_id: workflowId } };
    },

    async activate(input: ActivateInput): Promise<{ current: number; previous: number | null }> {
      const result = await versions.activate({
        tenantId: input.tenant_id,
        functionName: input.function_name,
        version: input.version,
      });
      if (!result) throw unknownVersion(input);
      return result;
    },
  };
}
