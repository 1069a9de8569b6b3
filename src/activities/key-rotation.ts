import { ApplicationFailure } from '@temporalio/activity';
import type { RotationCursor, ReencryptPageResult } from '../contracts/key-rotation';
import { FailureType } from '../contracts/failure-types';
import type { StoredKeys } from '../infra/crypto/stored-keys';

export interface ReencryptPageInput {
  target_key_id: string;
  after?: RotationCursor;
  limit: number;
  /** Also count the rows left after the page (a scan of the rest): the workflow asks on the first page of each run. */
  count_remaining: boolean;
}

/** `keys` is undefined when this worker has no key ring (ENCRYPTION_KEYS unset): it cannot rotate anything. */
export function createKeyRotationActivities(keys: StoredKeys | undefined) {
  return {
    /**
     * One page re-encrypted under the target key: payload rows, rows with encrypted fields or encrypted artifact
     * files, as the cursor's stage says (the name is from when payloads were all there was). Only a worker whose
     * active key is the target may do it: one with another ring would re-encrypt to a key the run was not started for.
     */
    async reencryptPayloads(input: ReencryptPageInput): Promise<ReencryptPageResult> {
      if (keys?.activeKeyId !== input.target_key_id)
        throw ApplicationFailure.create({
          type: FailureType.EncryptionKeyUnavailable,
          nonRetryable: true,
          message: keys
            ? `this worker's active key is ${keys.activeKeyId}, not ${input.target_key_id}: set ENCRYPTION_ACTIVE_KEY=${input.target_key_id} on every worker before rotating`
            : 'this worker has no key ring (ENCRYPTION_KEYS): it cannot re-encrypt payloads',
        });
      return keys.reencryptPage(input.after, input.limit, input.count_remaining);
    },
  };
}
