import { ApplicationFailure } from '@temporalio/activity';
import type { EnhanceRequest, EnhancedArtifact, ValidationReport } from '../contracts/enhance';
import { FailureType } from '../contracts/failure-types';
import { runSandbox } from '../infra/sandbox';
import type { SandboxForkServer } from '../infra/sandbox-fork-server';
import { heartbeating } from './heartbeat';

export interface SandboxSettings {
  pythonBin: string;
  scriptDir: string;
  timeoutSeconds: number;
  memoryMb: number;
  pathEnv: string;
  forkServer?: SandboxForkServer;
}

export function createValidateActivity(settings: SandboxSettings) {
  return {
    async validate(input: { request: EnhanceRequest; artifact: EnhancedArtifact }): Promise<ValidationReport> {
      const { request, artifact } = input;
      const sample = {
        original_code: request.original_code,
        enhanced_code: artifact.python,
        function_name: request.function_name,
        samples: request.context?.samples,
        timeout_s: settings.timeoutSeconds,
        memory_mb: settings.memoryMb,
      };
      // The sandbox's own wall clock ends python3; heartbeats let a cancellation end the activity sooner.
      const result = await heartbeating(() => runSandbox(sample, settings));
      if (result.safety_level === 'blocked' || result.errors.length > 0 || result.mismatches.length > 0) {
        const reasons = [
          ...result.errors.map((e) => `${e.stage}: ${e.message}${e.line ? ` (line ${e.line})` : ''}`),
          ...result.mismatches.map((m) => `behaviour changed on ${JSON.stringify(m.sample)}: original ${m.original}, enhanced ${m.enhanced}`),
        ];
        throw ApplicationFailure.create({
          type: FailureType.ValidationFailed,
          nonRetryable: true,
          message: `enhanced code failed validation: ${reasons.join('; ')}`,
          details: [{ errors: result.errors, mismatches: result.mismatches, findings: result.findings, safety_level: result.safety_level }],
        });
      }
      return { safety_level: result.safety_level, findings: result.findings, samples_run: result.samples_run, duration_ms: result.duration_ms };
    },
  };
}
