import { ApplicationFailure } from '@temporalio/activity';
import type { EnhanceRequest, EnhancedArtifact, ValidationReport } from '../contracts/enhance';
import type { SandboxMismatch } from '../contracts/analysis';
import { FailureType } from '../contracts/failure-types';
import type { FeedbackRepo } from '../infra/db/feedback-repo';
import { SandboxUnavailableError, type HarnessSettings } from '../infra/sandbox/harness';
import { runSandbox } from '../infra/sandbox/run';
import type { SandboxForkServer } from '../infra/sandbox/fork-server';
import type { SandboxGate } from '../infra/sandbox/gate';
import { heartbeating } from './heartbeat';

export interface SandboxSettings {
  pythonBin: string;
  scriptDir: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Default seconds for doctests and generated inputs; a request's evidence_budget_s overrides it. */
  evidenceBudgetSeconds: number;
  pathEnv: string;
  harness: HarnessSettings;
  forkServer?: SandboxForkServer;
  gate: SandboxGate;
}

function refused(err: SandboxUnavailableError): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.SandboxUnavailable, nonRetryable: true, message: err.message });
}

/** A mismatch as the run's failure says it: a feedback example by its call and expectation, else the differing input. */
function describeMismatch(m: SandboxMismatch): string {
  const sample = m.sample as Record<string, unknown>;
  if (typeof sample.feedback_example === 'number') {
    const call = JSON.stringify({ args: sample.args, kwargs: sample.kwargs });
    return `feedback example ${sample.feedback_example} ${call} failed: ${m.original}, the enhanced code gave ${m.enhanced}`;
  }
  return `behaviour changed on ${JSON.stringify(m.sample)}: original ${m.original}, enhanced ${m.enhanced}`;
}

export function createValidateActivity(settings: SandboxSettings, feedback: FeedbackRepo) {
  return {
    /**
     * With `tenant_id`, the function's feedback examples as they stand now are part of the validation: every later
     * version must pass them (runs started before examples existed send none).
     */
    async validate(input: {
      request: EnhanceRequest;
      artifact: EnhancedArtifact;
      tenant_id?: string;
    }): Promise<ValidationReport> {
      const { request, artifact } = input;
      const examples =
        input.tenant_id === undefined ? [] : await feedback.examples(input.tenant_id, request.function_name);
      const sample = {
        original_code: request.original_code,
        enhanced_code: artifact.python,
        function_name: request.function_name,
        samples: request.context?.samples,
        dependencies: request.context?.dependencies ?? [],
        examples,
        timeout_s: settings.timeoutSeconds,
        memory_mb: settings.memoryMb,
        evidence_budget_s: request.evidence_budget_s ?? settings.evidenceBudgetSeconds,
      };
      // The sandbox's own wall clock ends python3; heartbeats let a cancellation end the activity sooner.
      const result = await heartbeating(async () => {
        await settings.gate.ensure();
        return runSandbox(sample, settings).catch((err: unknown) => {
          if (err instanceof SandboxUnavailableError) settings.gate.refused(err.message);
          throw err;
        });
      }).catch((err: unknown) => {
        throw err instanceof SandboxUnavailableError ? refused(err) : err;
      });
      const missing = result.errors.filter((e) => e.stage === 'dependency');
      if (missing.length > 0) {
        throw ApplicationFailure.create({
          type: FailureType.DependencyUnavailable,
          nonRetryable: true,
          message: missing.map((e) => e.message).join('; '),
          details: [{ errors: missing }],
        });
      }
      if (
        artifact.runtime_version !== undefined &&
        result.imported &&
        result.runtime_version !== artifact.runtime_version
      ) {
        // The folder ships the runtime it was validated with: a worker whose sandbox loads another one must not pass it.
        result.errors.push({
          stage: 'import',
          message: `the module is written for poet_runtime ${artifact.runtime_version}, the sandbox imported ${result.runtime_version ?? 'none'}`,
          line: null,
        });
      }
      if (result.safety_level === 'blocked' || result.errors.length > 0 || result.mismatches.length > 0) {
        const reasons = [
          ...result.errors.map((e) => `${e.stage}: ${e.message}${e.line ? ` (line ${e.line})` : ''}`),
          ...result.mismatches.map(describeMismatch),
        ];
        throw ApplicationFailure.create({
          type: FailureType.ValidationFailed,
          nonRetryable: true,
          message: `enhanced code failed validation: ${reasons.join('; ')}`,
          details: [
            {
              errors: result.errors,
              mismatches: result.mismatches,
              findings: result.findings,
              safety_level: result.safety_level,
            },
          ],
        });
      }
      return {
        safety_level: result.safety_level,
        findings: result.findings,
        samples_run: result.samples_run,
        duration_ms: result.duration_ms,
        ...(artifact.runtime_version !== undefined ? { runtime_version: artifact.runtime_version } : {}),
        declared_rules: result.declared_rules.length,
        evidence: result.evidence,
      };
    },
  };
}
