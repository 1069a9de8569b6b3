import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../contracts/failure-types';

/**
 * What the worker's codec hands on in place of a payload it cannot decrypt. A codec that throws while a workflow task
 * is decoded fails the task, which Temporal retries forever, and the SDK offers no way for a codec to fail the run
 * instead. So the worker's codec decodes such a payload to this JSON value, and the interceptors around workflows
 * and activities turn it into a non-retryable EncryptionKeyUnavailable before any code sees it as data.
 */
export const UNREADABLE_PAYLOAD_KEY = '__poet_encryption_key_unavailable';

export interface UnreadablePayload {
  [UNREADABLE_PAYLOAD_KEY]: { key_id: string; message: string };
}

function isUnreadable(value: unknown): value is UnreadablePayload {
  return typeof value === 'object' && value !== null && UNREADABLE_PAYLOAD_KEY in value;
}

/** Throws the run's failure when any of `values` stands for a payload that could not be decrypted. */
export function refuseUnreadable(values: readonly unknown[]): void {
  const unreadable = values.find(isUnreadable);
  if (!unreadable) return;
  const { key_id, message } = unreadable[UNREADABLE_PAYLOAD_KEY];
  throw ApplicationFailure.create({
    type: FailureType.EncryptionKeyUnavailable,
    message,
    nonRetryable: true,
    details: [{ key_id }],
  });
}
