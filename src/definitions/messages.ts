import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EnhanceResult } from '../contracts/enhance';
import type { RotationProgress } from '../contracts/key-rotation';
import type { Progress } from '../contracts/progress';

/** The `progress` query of enhanceFunction and enhanceBatch (shapes in contracts/progress.ts); the SSE route polls it. */
export const progressQuery = defineQuery<Progress>('progress');

/**
 * enhanceFunction's result as soon as it is known (update-with-start): a hit answers from the first workflow task,
 * before the events are published. Fails as the run fails.
 */
export const enhanceResultUpdate = defineUpdate<EnhanceResult>('enhanceResult');

/** rotateEncryptionKey's counts and cursor so far (all runs of its continue-as-new chain); `poet keys rotate-data` polls it. */
export const rotationProgressQuery = defineQuery<RotationProgress>('rotationProgress');
