import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { TypedSearchAttributes, type Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { Config } from '../../config';
import type { ScheduleView } from '../../contracts/reevaluation';
import { REEVALUATION_DETAILS, REEVALUATION_SUMMARY } from '../../definitions/run-details';
import { TenantKey } from '../../definitions/search-attributes';
import { WORKFLOW_TYPES } from '../../definitions/workflow-types';
import { TemporalKeyUsage } from './key-usage';

const WORKFLOW_TYPE = WORKFLOW_TYPES.reevaluate;

/** What the schedule was applied from, kept in its action's memo: the server turns cron strings into calendars. */
interface Definition {
  cron: string;
  /** A duration as REEVALUATION_JITTER checks it: `<n>ms|s|m|h`. */
  jitter: Duration & string;
  concurrency: number;
}

const definitionOf = (config: Config): Definition => ({
  cron: config.REEVALUATION_CRON,
  jitter: config.REEVALUATION_JITTER as Duration & string,
  concurrency: config.REEVALUATION_CONCURRENCY,
});

/** The one definition of the re-evaluation schedule: the worker at start and `poet schedules apply` both apply it. */
export function reevaluationSchedule(config: Config): ScheduleOptions {
  const definition = definitionOf(config);
  return {
    scheduleId: config.reevaluationScheduleId,
    spec: { cronExpressions: [definition.cron], jitter: definition.jitter },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPE,
      // The server appends the scheduled time to it: one id per action.
      workflowId: config.reevaluationScheduleId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [{ concurrency: definition.concurrency }],
      memo: { schedule: definition },
      // Its runs span every tenant: they are the operator tenant's, who alone manages the schedule.
      typedSearchAttributes: [{ key: TenantKey, value: config.OPERATOR_TENANT }],
      staticSummary: REEVALUATION_SUMMARY,
      staticDetails: REEVALUATION_DETAILS,
    },
    // A re-evaluation still running when the next is due: the next is skipped, never stacked.
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
    state: { note: 'applied by poet (worker start or poet schedules apply)' },
  };
}

/** The schedule ids this deployment owns; the API answers 404 for any other. */
export const scheduleIds = (config: Config): string[] => [config.reevaluationScheduleId];

const appliedDefinition = (d: ScheduleDescription): Partial<Definition> =>
  (d.action.memo as { schedule?: Partial<Definition> } | undefined)?.schedule ?? {};

/** The Tenant its runs start with (a description holds the typed form; the union type allows a list). */
function tenantOf(d: ScheduleDescription): unknown {
  if (d.action.type !== 'startWorkflow') return undefined;
  const attributes = d.action.typedSearchAttributes;
  return attributes instanceof TypedSearchAttributes
    ? attributes.get(TenantKey)
    : attributes?.find((pair) => pair.key.name === TenantKey.name)?.value;
}

function matches(current: ScheduleDescription, config: Config): boolean {
  const wanted = definitionOf(config);
  const applied = appliedDefinition(current);
  return (
    current.action.type === 'startWorkflow' &&
    current.action.workflowType === WORKFLOW_TYPE &&
    current.action.taskQueue === config.TEMPORAL_TASK_QUEUE &&
    tenantOf(current) === config.OPERATOR_TENANT &&
    applied.cron === wanted.cron &&
    applied.concurrency === wanted.concurrency &&
    (current.spec.jitter ?? 0) === msToNumber(wanted.jitter) &&
    current.policies.overlap === ScheduleOverlapPolicy.SKIP
  );
}

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Creates the schedule when missing, updates it when its cron, jitter, concurrency, task queue or overlap policy
 * differ from the configuration or its stored action is encrypted under a key that is no longer the active one, and otherwise leaves it alone (paused stays paused). Safe to run from every worker
 * at once: the one that loses the race to create it compares and updates instead.
 */
export async function applySchedules(client: Client, config: Config): Promise<{ id: string; outcome: ApplyOutcome }[]> {
  const options = reevaluationSchedule(config);
  const handle = client.schedule.getHandle(options.scheduleId);
  let current: ScheduleDescription | undefined = await describeOrUndefined(client, options.scheduleId);
  if (!current) {
    try {
      await client.schedule.create(options);
      return [{ id: options.scheduleId, outcome: 'created' }];
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      current = await handle.describe();
    }
  }
  if (matches(current, config) && !(await underOtherKey(client, config, options.scheduleId)))
    return [{ id: options.scheduleId, outcome: 'unchanged' }];
  await handle.update((prev) => ({
    ...prev,
    spec: options.spec,
    action: options.action,
    policies: { ...prev.policies, ...options.policies },
  }));
  return [{ id: options.scheduleId, outcome: 'updated' }];
}

/**
 * Whether the schedule's stored action holds a payload under a key other than the active one: writing the action
 * again encrypts it under the active key, so the old key can be retired (`poet keys retire` checks schedules).
 */
async function underOtherKey(client: Client, config: Config, scheduleId: string): Promise<boolean> {
  const active = config.encryption?.activeKeyId;
  if (active === undefined) return false;
  const keys = await new TemporalKeyUsage(client, config.TEMPORAL_TASK_QUEUE).scheduleKeys(scheduleId);
  return [...(keys ?? [])].some((key) => key !== active);
}

/**
 * Key rotation's part in Temporal: the deployment's schedules whose stored action is under another key are written
 * back as they are, which encrypts them under the active key (`client` must encrypt with it). Answers their ids.
 */
export async function reencryptSchedules(client: Client, config: Config): Promise<string[]> {
  const rewritten: string[] = [];
  for (const id of scheduleIds(config)) {
    if (!(await underOtherKey(client, config, id))) continue;
    await client.schedule.getHandle(id).update((prev) => prev);
    rewritten.push(id);
  }
  return rewritten;
}

async function describeOrUndefined(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** A schedule's state as GET /api/v1/schedules answers it. */
export function scheduleView(d: ScheduleDescription): ScheduleView {
  const applied = appliedDefinition(d);
  return {
    id: d.scheduleId,
    workflow_type: d.action.workflowType,
    cron: applied.cron ?? null,
    jitter: applied.jitter ?? null,
    // Unset is the server's default, SKIP.
    overlap: d.policies.overlap ?? ScheduleOverlapPolicy.SKIP,
    paused: d.state.paused,
    note: d.state.note ?? null,
    next_action_times: d.info.nextActionTimes.map((t) => t.toISOString()),
    recent_actions: d.info.recentActions.map((a) => ({
      scheduled_at: a.scheduledAt.toISOString(),
      taken_at: a.takenAt.toISOString(),
      workflow_id: a.action.workflow.workflowId,
      run_id: a.action.workflow.firstExecutionRunId,
    })),
    running: d.info.runningActions.map((a) => ({
      workflow_id: a.workflow.workflowId,
      run_id: a.workflow.firstExecutionRunId,
    })),
  };
}

/** The deployment's schedules as operators see and steer them; undefined for an id that is not one of ours or is gone. */
export class Schedules {
  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {}

  async list(): Promise<ScheduleView[]> {
    const found = await Promise.all(scheduleIds(this.config).map((id) => this.view(id)));
    return found.filter((v): v is ScheduleView => v !== undefined);
  }

  async view(id: string): Promise<ScheduleView | undefined> {
    if (!scheduleIds(this.config).includes(id)) return undefined;
    const d = await describeOrUndefined(this.client, id);
    return d && scheduleView(d);
  }

  pause(id: string, note: string): Promise<ScheduleView | undefined> {
    return this.act(id, (h) => h.pause(note));
  }

  unpause(id: string, note: string): Promise<ScheduleView | undefined> {
    return this.act(id, (h) => h.unpause(note));
  }

  /** Starts an action now; one still running makes it a no-op, as the schedule's own overlap policy would. */
  trigger(id: string): Promise<ScheduleView | undefined> {
    return this.act(id, (h) => h.trigger(ScheduleOverlapPolicy.SKIP));
  }

  private async act(
    id: string,
    action: (h: ReturnType<Client['schedule']['getHandle']>) => Promise<void>,
  ): Promise<ScheduleView | undefined> {
    if (!scheduleIds(this.config).includes(id)) return undefined;
    try {
      await action(this.client.schedule.getHandle(id));
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
    return this.view(id);
  }
}
