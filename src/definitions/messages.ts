import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EnhanceResult } from '../contracts/enhance';
import type { RotationProgress } from '../contracts/key-rotation';
import type { Progress } from '../contracts/progress';
import type { RolloutControl, RolloutState } from '../contracts/rollouts';

/** The `progress` query of enhanceFunction and enhanceBatch (shapes in contracts/progress.ts); the SSE route polls it. */
export const progressQuery = defineQuery<Progress>('progress');

/**
 * enhanceFunction's result as soon as it is known (update-with-start): a hit answers from the first workflow task,
 * before the events are published. Fails as the run fails.
 */
export const enhanceResultUpdate = defineUpdate<EnhanceResult>('enhanceResult');

/** rolloutVersion's state: share, status, step and the last judgement with its figures. */
export const rolloutQuery = defineQuery<RolloutState>('rollout');

/**
 * The operator's controls of a rollout, one update each: pause and resume answer once the run has recorded them,
 * abort and promote once the rollout has ended. Each answers the rollout's state.
 */
export const rolloutUpdates = {
  pause: defineUpdate<RolloutState>('pause'),
  resume: defineUpdate<RolloutState>('resume'),
  abort: defineUpdate<RolloutState>('abort'),
  promote: defineUpdate<RolloutState>('promote'),
} satisfies Record<RolloutControl, unknown>;
/** rotateEncryptionKey's counts and cursor so far (all runs of its continue-as-new chain); `poet keys rotate-data` polls it. */
export const rotationProgressQuery = defineQuery<RotationProgress>('rotationProgress');
