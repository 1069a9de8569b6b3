import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ACTIVITY_OPTIONS, type ActivityName, type LocalActivityName } from '../definitions/activity-options';

/** What only the run knows (a limit from config in its input), laid over the activity's declared options. */
export type ActivityOverrides = Pick<ActivityOptions, 'startToCloseTimeout' | 'retry'>;

/** The activity as a task of its own, with its options from ACTIVITY_OPTIONS. */
export function activity<K extends ActivityName>(name: K, overrides: ActivityOverrides = {}): Activities[K] {
  const declared: ActivityOptions = ACTIVITY_OPTIONS[name];
  return proxyActivities<Activities>({ ...declared, ...overrides, retry: { ...declared.retry, ...overrides.retry } })[
    name
  ];
}

/**
 * The activity as a local activity: run by the worker that runs the workflow task, in that task, with no task
 * dispatch of its own (each one costs the server and the worker more than short in-process work does).
 */
export function localActivity<K extends LocalActivityName>(name: K): Activities[K] {
  return proxyLocalActivities<Activities>(ACTIVITY_OPTIONS[name])[name];
}
