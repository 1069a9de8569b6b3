import { ApplicationFailure } from '@temporalio/activity';
import type { SandboxMismatch } from '../contracts/analysis';
import type { EnhancedArtifact, EnhanceRequest, ValidationReport } from '../contracts/enhance';
import { FailureType } from '../contracts/failure-types';
import type {
  FailingExample,
  RecordRolloutInput,
  RolloutFiguresInput,
  ShadowValidation,
  ShadowValidationInput,
  VersionFigures,
} from '../contracts/rollouts';
import type { OutcomesRepo } from '../infra/db/outcomes-repo';
import type { RolloutsRepo } from '../infra/db/rollouts-repo';
import type { VersionsRepo } from '../infra/db/versions-repo';
import { latencyQuantile } from '../poet/latency-histogram';

export interface RolloutDeps {
  rollouts: RolloutsRepo;
  outcomes: OutcomesRepo;
}

/** The validate activity: the sandbox run every version passed when it was made, examples as they stand now. */
type Validate = (input: {
  request: EnhanceRequest;
  artifact: EnhancedArtifact;
  tenant_id: string;
}) => Promise<ValidationReport>;

/** The feedback examples among a failed validation's mismatches. */
function failingExamples(err: ApplicationFailure): FailingExample[] {
  const details = err.details?.[0] as { mismatches?: SandboxMismatch[] } | undefined;
  return (details?.mismatches ?? []).flatMap((m) => {
    const sample = m.sample as { feedback_example?: unknown; args?: unknown; kwargs?: unknown };
    if (typeof sample.feedback_example !== 'number') return [];
    const call = { args: sample.args ?? [], kwargs: sample.kwargs ?? {} } as FailingExample['call'];
    return [{ example: sample.feedback_example, call, expected: m.original, got: m.enhanced }];
  });
}

const MINUTE_MS = 60_000;

export function createRolloutActivities(deps: RolloutDeps, versions: VersionsRepo, validate: Validate) {
  const figures = async (tenantId: string, name: string, version: number, since: Date): Promise<VersionFigures> => {
    const t = await deps.outcomes.totals(tenantId, name, version, since);
    return {
      version,
      calls: t.calls,
      successes: t.successes,
      success_rate: t.calls ? t.successes / t.calls : null,
      p95_ms: latencyQuantile(t.latencyCounts, 0.95),
    };
  };
  return {
    /**
     * The candidate's code validated again, now, with the function's feedback examples: an example that arrived
     * after the candidate was made must not reach a unit first. Failing is an answer, with the examples it failed.
     */
    async shadowValidate(input: ShadowValidationInput): Promise<ShadowValidation> {
      const ref = { tenantId: input.tenant_id, functionName: input.function_name, version: input.version };
      const [source, detail] = await Promise.all([versions.versionSource(ref), versions.getVersion(ref)]);
      if (!source || !detail)
        throw ApplicationFailure.create({
          type: FailureType.InvalidInput,
          nonRetryable: true,
          message: `function ${input.function_name} has no version ${input.version}`,
        });
      if (!source.request)
        return { passed: false, examples: 0, reason: 'the candidate predates stored requests: it cannot be validated' };
      const runtime = detail.metadata.runtime_version;
      const artifact: EnhancedArtifact = {
        ...detail.code,
        params: detail.params,
        optimizations: [],
        provider: detail.provider,
        enhancer_version: String(detail.metadata.enhancer_version ?? ''),
        ...(typeof runtime === 'string' ? { runtime_version: runtime } : {}),
      };
      try {
        const report = await validate({ request: source.request, artifact, tenant_id: input.tenant_id });
        return { passed: true, examples: report.evidence?.inputs.feedback ?? 0 };
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || err.type !== FailureType.ValidationFailed) throw err;
        const failing = failingExamples(err);
        return { passed: false, examples: failing.length, reason: err.message, failing_examples: failing };
      }
    },

    /** Records the rollout's share and status where resolve reads them. */
    recordRollout: (input: RecordRolloutInput) => deps.rollouts.record(input),

    /** Both versions' field reports since the step began (from its minute: reports are kept per minute). */
    async rolloutFigures(input: RolloutFiguresInput): Promise<{ candidate: VersionFigures; baseline: VersionFigures }> {
      const since = new Date(Math.floor(Date.parse(input.since) / MINUTE_MS) * MINUTE_MS);
      const [candidate, baseline] = await Promise.all([
        figures(input.tenant_id, input.function_name, input.candidate_version, since),
        figures(input.tenant_id, input.function_name, input.baseline_version, since),
      ]);
      return { candidate, baseline };
    },
  };
}
