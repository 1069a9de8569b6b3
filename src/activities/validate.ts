import { ApplicationFailure } from '@temporalio/activity';
import type { EnhanceRequest, EnhancedArtifact, FeedbackExample, ValidationReport } from '../contracts/enhance';
import { FailureType } from '../contracts/failure-types';
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

export function createValidateActivity(settings: SandboxSettings) {
  return {
    /** `examples`: the feedback examples stored for the function, which every later version must pass. */
    async validate(input: {
      request: EnhanceRequest;
      artifact: EnhancedArtifact;
      examples?: FeedbackExample[];
    }): Promise<ValidationReport> {
      const { request, artifact } = input;
      const sample = {
        original_code: request.original_code,
        enhanced_code: artifact.python,
        function_name: request.function_name,
        samples: request.context?.samples,
        dependencies: request.context?.dependencies ?? [],
        examples: input.examples ?? [],
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
          ...result.mismatches.map(
            (m) => `behaviour changed on ${JSON.stringify(m.sample)}: original ${m.original}, enhanced ${m.enhanced}`,
          ),
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
