import { patched, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';

/**
 * Declares a long-lived workflow AUTO_UPGRADE (the worker's default is PINNED): a running execution moves to the
 * deployment's current build at its next workflow task instead of holding an old build up, so a change to it must
 * still replay its in-flight histories. Declared only on a versioned worker: the server refuses a versioning
 * behaviour from an unversioned worker (whose version, if any, has no deployment name).
 */
export function autoUpgrades<A extends unknown[], R>(workflow: (...args: A) => Promise<R>): void {
  setWorkflowOptions(
    () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {}),
    workflow,
  );
}

/**
 * patched() ids of changes to auto-upgrading workflows, one each: their running executions replay histories
 * recorded without the change. Remove one (deprecatePatch, then nothing) once no run from before it is open.
 */
const PATCHES = {
  /** Outcome set on a run that ends without one (interceptors.ts): deliverWebhooks and activateVersion had none. */
  outcomeOnEnd: 'outcome-on-end',
} as const;

/** Whether this run takes the change: true for new code paths, false while replaying a history from before it. */
export const takes = (change: keyof typeof PATCHES): boolean => patched(PATCHES[change]);
