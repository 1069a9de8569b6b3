import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { ErrorCategory, ErrorClass } from '../contracts/error-classes';
import { FailureType } from '../contracts/failure-types';
import type { ACTIVITY_OPTIONS } from './activity-options';

/** How a run failed: the code the API answers with, and its class, as the `enhancement.failed` event reports it. */
export interface RunFailure extends ErrorClass {
  code: string;
}

/** Failures an activity declared by type: each names its own code and class. */
const BY_TYPE: Partial<Record<string, RunFailure>> = {
  [FailureType.InvalidInput]: { code: 'invalid_input', category: 'input', severity: 'info' },
  [FailureType.ValidationFailed]: { code: 'validation_failed', category: 'validation', severity: 'warning' },
  [FailureType.DependencyUnavailable]: { code: 'dependency_unavailable', category: 'deployment', severity: 'error' },
  [FailureType.SandboxUnavailable]: { code: 'sandbox_unavailable', category: 'system', severity: 'critical' },
  [FailureType.EncryptionKeyUnavailable]: {
    code: 'encryption_key_unavailable',
    category: 'deployment',
    severity: 'critical',
  },
};

/** Any other failure, by the activity it ended in: storing and publishing are how a version is deployed. */
const BY_ACTIVITY: Partial<Record<keyof typeof ACTIVITY_OPTIONS, ErrorCategory>> = {
  generate: 'generation',
  generateWithLlm: 'generation',
  validate: 'validation',
  storeVersion: 'deployment',
  publish: 'deployment',
  activate: 'deployment',
};

/**
 * Classifies a run's failure from its cause chain (workflow failure → activity failure → application failure), the
 * same way in the workflow that reports it and the API that answers it. A failure outside any activity is the
 * workflow's own: a fault of ours.
 */
export function classifyRunFailure(err: unknown): RunFailure {
  let type: string | undefined;
  let activity: string | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ActivityFailure) activity ??= e.activityType;
    if (e instanceof ApplicationFailure && e.type) type = e.type;
  }
  const typed = type === undefined ? undefined : BY_TYPE[type];
  if (typed) return typed;
  if (activity === undefined) return { code: 'enhancement_failed', category: 'system', severity: 'critical' };
  const category = BY_ACTIVITY[activity as keyof typeof BY_ACTIVITY] ?? 'system';
  return { code: 'enhancement_failed', category, severity: 'error' };
}
